use super::*;

fn entries(text: &str) -> Result<Vec<Entry>, String> {
    let mut cmd = crate::layers::command();
    cmd.build();
    parse(text, "f.toml", &cmd)
}

fn tokens(text: &str) -> Vec<String> {
    entries(text)
        .unwrap()
        .into_iter()
        .flat_map(|e| e.tokens)
        .collect()
}

#[test]
fn keys_and_tables_map_to_flags() {
    let got = tokens(
        "max-cons = 10\nwrite = true\nanonymous = false\nbanner = \"hi there\"\n\
         [tls]\nenabled = true\ncertfile = \"/c.pem\"\ncontrol-required = true\n\
         [ban]\nafter = 5\ntime = 1.5\n[limits]\nmax-cons-per-ip = 0x10\n",
    );
    assert_eq!(
        got,
        [
            "--max-cons=10",
            "--write",
            "--banner=hi there",
            "--tls",
            "--certfile=/c.pem",
            "--tls-control-required",
            "--ban-after=5",
            "--ban-time=1.5",
            "--max-cons-per-ip=16",
        ]
    );
}

#[test]
fn errors_name_file_line_and_key() {
    let cases = [
        (
            "max-cons = 1\nmax-conz = 3\n",
            "f.toml:2: unknown key `max-conz`",
        ),
        (
            "\n\nmax-cons = \"many\"\n",
            "f.toml:3: key `max-cons`: bad value",
        ),
        ("write = \"yes\"\n", "f.toml:1: key `write`: wrong type"),
        (
            "[limits]\nmax-cons = [1]\n",
            "f.toml:2: key `limits.max-cons`: wrong type",
        ),
        ("[tls]\nfoo = 1\n", "f.toml:2: unknown key `tls.foo`"),
        ("[nope]\nx = 1\n", "f.toml:1: unknown table [nope]"),
        (
            "ban-after = 1\n[ban]\nafter = 2\n",
            "f.toml:3: key `ban.after`: set twice",
        ),
        ("timeout = -1\n", "f.toml:1: key `timeout`: bad value"),
        ("check = true\n", "f.toml:1: unknown key `check`"),
        ("config = \"x\"\n", "f.toml:1: unknown key `config`"),
        ("x = = 1\n", "f.toml:1: "),
    ];
    for (text, want) in cases {
        let err = entries(text).unwrap_err();
        assert!(
            err.starts_with(want),
            "{text:?}: {err:?} does not start with {want:?}"
        );
    }
}

/// `docs/ftpdlib.toml` with its commented key lines (`# key = value`) made active.
fn example_with_every_line() -> String {
    let text = include_str!("../../../../docs/ftpdlib.toml");
    text.lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest
                    .split_once(" = ")
                    .is_some_and(|(k, _)| !k.contains(' ')) =>
            {
                rest
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_example_file_loads_and_shows_every_key() {
    entries(include_str!("../../../../docs/ftpdlib.toml")).expect("the example as shipped");
    let all = entries(&example_with_every_line()).expect("with every example line active");
    let mut cmd = crate::layers::command();
    cmd.build();
    let missing: Vec<_> = cmd
        .get_arguments()
        .filter(|a| a.get_long().is_some_and(|l| is_setting(l) && l != "config"))
        .filter(|a| !all.iter().any(|e| e.id == a.get_id().as_str()))
        .map(|a| a.get_id().to_string())
        .collect();
    assert!(missing.is_empty(), "docs/ftpdlib.toml lacks: {missing:?}");
}
