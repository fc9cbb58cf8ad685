use super::*;

#[test]
fn table_is_sorted_and_unique() {
    for w in COMMANDS.windows(2) {
        assert!(w[0].name < w[1].name, "{} before {}", w[0].name, w[1].name);
    }
}

#[test]
fn aliases_resolve() {
    assert_eq!(lookup("XPWD").map(|c| c.verb), Some(Verb::Pwd));
    assert_eq!(lookup("XMKD").map(|c| c.verb), Some(Verb::Mkd));
    assert!(lookup("FOO").is_none());
}

#[test]
fn help_mentions_every_command_and_alias() {
    let names = help_names();
    assert!(names.contains(&"XCWD"));
    assert!(names.contains(&"MFMT"));
    assert!(!names.iter().any(|n| n.contains(' ')));
    assert_eq!(site_names(), vec!["CHMOD", "HELP", "QUOTA"]);
}

#[test]
fn every_verb_has_one_row() {
    for spec in COMMANDS {
        assert_eq!(lookup(spec.verb.name()).map(|c| c.verb), Some(spec.verb));
    }
    assert_eq!(Verb::Retr.direction(), Direction::Download);
    assert_eq!(Verb::Appe.direction(), Direction::Upload);
    assert_eq!(Verb::Pasv.direction(), Direction::None);
}

#[test]
fn feat_lists_the_extensions() {
    let lines = feat_lines("MLST type*;", "HASH SHA-256*", false, true);
    assert!(lines.contains(&"MDTM".to_owned()));
    assert!(lines.contains(&"UTF8".to_owned()));
    assert!(lines.contains(&"HOST".to_owned()));
    assert!(!feat_lines("MLST type*;", "HASH SHA-256*", false, false).contains(&"UTF8".to_owned()));
    assert!(lines.contains(&"TVFS".to_owned()));
    assert!(
        !lines.contains(&"PBSZ".to_owned()),
        "RFC 4217 lines need TLS"
    );
}
