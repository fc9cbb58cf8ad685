//! Invariants of NLST's glob matching (`ftpdlib::fuzzing::glob_match`): it agrees with a
//! small reference matcher (tokenise, then a memoised recursive match) on the syntax its
//! documentation gives, `*` matches everything, a pattern without metacharacters matches only
//! itself, a name built to match a pattern does, and adversarial patterns stay fast.

use ftpdlib::fuzzing::glob_match;

use super::{hash, Rng};

/// Longest pattern and name (in characters) the checks use: the reference's recursion is
/// as deep as their sum.
pub const MAX_CHARS: usize = 64;

/// One element of a pattern; each but `Star` matches exactly one character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// `*`: any run of characters.
    Star,
    /// `?`: any one character.
    Any,
    /// `[...]`: one character in (or, negated, not in) the inclusive ranges.
    Class {
        /// `[!...]` or `[^...]`.
        negate: bool,
        /// Single characters are ranges `(c, c)`.
        items: Vec<(char, char)>,
    },
    /// Anything else, and a `[` that is never closed.
    Lit(char),
}

/// Splits a pattern into tokens.
pub fn tokens(pattern: &str) -> Vec<Tok> {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let (tok, used) = match p[i] {
            '*' => (Tok::Star, 1),
            '?' => (Tok::Any, 1),
            '[' => class(&p[i + 1..]).map_or((Tok::Lit('['), 1), |(t, n)| (t, n + 1)),
            c => (Tok::Lit(c), 1),
        };
        out.push(tok);
        i += used;
    }
    out
}

/// The class that follows a `[`, and how many characters it takes (through its `]`);
/// `None` if no `]` closes it. A `]` first (after the negation) is a member; `x-y` is a
/// range unless `y` is `]`.
fn class(p: &[char]) -> Option<(Tok, usize)> {
    let negate = matches!(p.first(), Some('!' | '^'));
    let first = usize::from(negate);
    let (mut items, mut i) = (Vec::new(), first);
    loop {
        let c = *p.get(i)?;
        if c == ']' && i > first {
            return Some((Tok::Class { negate, items }, i + 1));
        }
        match (p.get(i + 1), p.get(i + 2)) {
            (Some('-'), Some(&hi)) if hi != ']' => {
                items.push((c, hi));
                i += 3;
            }
            _ => {
                items.push((c, c));
                i += 1;
            }
        }
    }
}

/// Whether a single-character token matches `c`.
fn one(tok: &Tok, c: char) -> bool {
    match tok {
        Tok::Star | Tok::Any => true,
        Tok::Lit(l) => *l == c,
        Tok::Class { negate, items } => items.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negate,
    }
}

/// The reference: does the whole `name` match the whole `pattern`?
pub fn reference(pattern: &str, name: &str) -> bool {
    let t = tokens(pattern);
    let n: Vec<char> = name.chars().collect();
    let mut memo = vec![None; (t.len() + 1) * (n.len() + 1)];
    matches(&t, &n, 0, 0, &mut memo)
}

fn matches(t: &[Tok], n: &[char], ti: usize, ni: usize, memo: &mut [Option<bool>]) -> bool {
    let key = ti * (n.len() + 1) + ni;
    if let Some(known) = memo[key] {
        return known;
    }
    let got = match t.get(ti) {
        None => ni == n.len(),
        Some(Tok::Star) => {
            matches(t, n, ti + 1, ni, memo) || (ni < n.len() && matches(t, n, ti, ni + 1, memo))
        }
        Some(tok) => ni < n.len() && one(tok, n[ni]) && matches(t, n, ti + 1, ni + 1, memo),
    };
    memo[key] = Some(got);
    got
}

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Every check on one pattern and name (each at most [`MAX_CHARS`] characters).
pub fn check_glob(pattern: &str, name: &str) -> bool {
    let got = glob_match(pattern, name);
    assert_eq!(
        got,
        reference(pattern, name),
        "glob_match({pattern:?}, {name:?})"
    );
    if !has_meta(pattern) {
        assert_eq!(got, pattern == name, "literal {pattern:?} against {name:?}");
    }
    if !has_meta(name) {
        assert!(glob_match(name, name), "{name:?} does not match itself");
    }
    for stars in ["*", "**", "***"] {
        assert!(glob_match(stars, name), "{stars:?} against {name:?}");
    }
    if got {
        // Stars around a match still match, with more around the name.
        assert!(glob_match(&format!("*{pattern}"), &format!("ab{name}")));
        assert!(glob_match(&format!("{pattern}*"), &format!("{name}[x")));
    }
    got
}

/// A name that `tokens` match, drawn with `rng` (`None` if a class admits nothing found).
pub fn matching_name(rng: &mut Rng, toks: &[Tok]) -> Option<String> {
    const ALPHABET: &[char] = &['a', 'b', 'z', '-', '[', ']', '!', '.', 'é', '*'];
    let mut name = String::new();
    for tok in toks {
        match tok {
            Tok::Star => (0..rng.below(3)).for_each(|_| name.push(rng.pick(ALPHABET))),
            Tok::Any => name.push(rng.pick(ALPHABET)),
            Tok::Lit(c) => name.push(*c),
            Tok::Class {
                negate: false,
                items,
            } => {
                let (lo, hi) = items[rng.below(items.len())];
                let span = (hi as u32).checked_sub(lo as u32)?;
                name.push(char::from_u32(
                    lo as u32 + rng.below(span as usize + 1) as u32,
                )?);
            }
            Tok::Class { .. } => {
                let c = (0..8).map(|_| rng.pick(ALPHABET)).find(|&c| one(tok, c))?;
                name.push(c);
            }
        }
    }
    Some(name)
}

/// Builds a glob-ish string of up to `max` characters from a small alphabet.
pub fn glob_text(rng: &mut Rng, max: usize) -> String {
    const PIECES: &[&str] = &[
        "a", "b", "z", "*", "?", "[", "]", "!", "^", "-", ".", "é", "[a-c]", "[!a]", "[]a]",
        "*.txt",
    ];
    let mut s = String::new();
    for _ in 0..rng.below(max + 1) {
        s.push_str(rng.pick(PIECES));
    }
    s.chars().take(MAX_CHARS).collect()
}

/// The fuzz target: `pattern LF name` (lossy UTF-8; without a LF the text is both), each cut
/// to [`MAX_CHARS`]; then a name built to match the pattern.
pub fn run_glob(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (pattern, name) = text.split_once('\n').unwrap_or((&text, &text));
    let cut = |s: &str| s.chars().take(MAX_CHARS).collect::<String>();
    let (pattern, name) = (cut(pattern), cut(name));
    check_glob(&pattern, &name);
    let mut rng = Rng::new(hash(data));
    if let Some(m) = matching_name(&mut rng, &tokens(&pattern)) {
        if m.chars().count() <= MAX_CHARS * 3 {
            assert!(check_glob(&pattern, &m), "{pattern:?} does not match {m:?}");
        }
    }
}
