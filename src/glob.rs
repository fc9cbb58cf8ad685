//! Shell-style name patterns (`*.txt`, `data-??`, `[!.]*`): `NLST *.txt` globbing and the
//! `--hide`/`--deny` patterns. One matcher for both, so a pattern means the same everywhere.

/// Shell-style matching of `*`, `?` and `[...]` (with `!` negation and ranges).
///
/// `[!...]` and `[^...]` negate a class; a `]` right after `[` (or after the negation) is a
/// member, as is a `-` that cannot form a range (`[a-]`); a `[` without a closing `]` is a
/// literal `[`. Runs in O(pattern × name) time: a `*` is only ever retried from the last one.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => match_class(&p, pi, n[ni]),
            Some(&c) if c == n[ni] => Some(pi + 1),
            _ => None,
        };
        match (step, star) {
            (Some(next), _) => {
                pi = next;
                ni += 1;
            }
            (None, Some((sp, sn))) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`; returns the index after `]`.
fn match_class(p: &[char], start: usize, c: char) -> Option<usize> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let first = i;
    while let Some(&pc) = p.get(i) {
        if pc == ']' && i > first {
            return (matched != negate).then_some(i + 1);
        }
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            if (pc..=p[i + 2]).contains(&c) {
                matched = true;
            }
            i += 3;
        } else {
            matched |= pc == c;
            i += 1;
        }
    }
    // No closing bracket: treat '[' literally.
    (c == '[').then_some(start + 1)
}
