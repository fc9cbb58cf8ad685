//! The crate's files import one another one way only: no file imports a file that (directly or
//! through others) imports it back. A circle of imports means none of its files can be read,
//! or tested, without all the others; `src/msg.rs` explains how the handlers and their enum
//! avoid one.
//!
//! The check reads `src/` (the library, not `src/bin/` or test files) the way a reader would:
//! each `use crate::…`, `use super::…`, `use self::…` and inline `crate::…` path outside
//! comments is an edge to the file that defines the longest prefix of the path. A parent that
//! names its own child's items (`channel::DataSide` in `control/mod.rs`) adds no edge: it
//! declares the child, which is below it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every library file with its module path (`src/data/mod.rs` is `data`).
fn modules(dir: &Path, out: &mut BTreeMap<Module, PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix("src").unwrap().to_path_buf();
        if path.is_dir() {
            if rel != Path::new("bin") {
                modules(&path, out);
            }
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap();
        if !name.ends_with(".rs") || name == "tests.rs" || name.ends_with("_tests.rs") {
            continue;
        }
        let mut module: Module = rel
            .with_extension("")
            .iter()
            .map(|s| s.to_str().unwrap().to_owned())
            .collect();
        if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
            module.pop();
        }
        out.insert(module, path);
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` part.
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file names: `use` trees (with their braces expanded) and inline `crate::` paths.
fn named_paths(code: &str, me: &Module) -> Vec<Module> {
    let mut out = Vec::new();
    for stmt in code.split(';') {
        let word = |&(i, _): &(usize, &str)| {
            !stmt[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        };
        let Some((at, _)) = stmt.match_indices("use ").find(word) else {
            continue;
        };
        let words: Vec<&str> = stmt[at + 4..].split_whitespace().collect();
        let tree = words.join(" ").replace(" as ", "@").replace(' ', "");
        let (root, rest) = match tree.split_once("::") {
            Some((r @ ("crate" | "super" | "self"), rest)) => (r, rest),
            _ => continue,
        };
        let mut base: Module = match root {
            "crate" => vec![],
            "super" => me[..me.len().saturating_sub(1)].to_vec(),
            _ => me.clone(),
        };
        expand(rest, &mut base, &mut out);
    }
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + 7..];
        let end = tail
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        out.push(
            tail[..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        );
        rest = tail;
    }
    out
}

/// Expands `a::b::{c, d::e}` below `base` into full paths.
fn expand(tree: &str, base: &mut Module, out: &mut Vec<Module>) {
    let (head, group) = match tree.find("::{") {
        Some(i) if tree.ends_with('}') => (&tree[..i], Some(&tree[i + 3..tree.len() - 1])),
        _ => (tree, None),
    };
    let mut path = base.clone();
    let names = head.split("::").filter(|s| !s.is_empty() && *s != "*");
    path.extend(names.map(|s| s.split('@').next().unwrap().to_owned()));
    let Some(group) = group else {
        out.push(path);
        return;
    };
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                item(&group[start..i], &path, out);
                start = i + 1;
            }
            _ => {}
        }
    }
    item(&group[start..], &path, out);
}

fn item(item: &str, path: &Module, out: &mut Vec<Module>) {
    match item {
        "" => {}
        "self" => out.push(path.clone()),
        _ => expand(item, &mut path.clone(), out),
    }
}

/// The file that defines the longest prefix of `path`.
fn resolve<'a>(path: &Module, mods: &'a BTreeMap<Module, PathBuf>) -> Option<&'a PathBuf> {
    (0..=path.len()).rev().find_map(|k| mods.get(&path[..k]))
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let mut mods = BTreeMap::new();
    modules(Path::new("src"), &mut mods);
    let mut edges: BTreeMap<&PathBuf, BTreeSet<&PathBuf>> = BTreeMap::new();
    for (me, file) in &mods {
        for path in named_paths(&code(file), me) {
            if let Some(to) = resolve(&path, &mods).filter(|to| *to != file) {
                edges.entry(file).or_default().insert(to);
            }
        }
    }
    // Depth-first search; a file met again while still on the stack closes a circle.
    fn visit<'a>(
        f: &'a PathBuf,
        edges: &BTreeMap<&'a PathBuf, BTreeSet<&'a PathBuf>>,
        stack: &mut Vec<&'a PathBuf>,
        done: &mut BTreeSet<&'a PathBuf>,
    ) -> Option<Vec<&'a PathBuf>> {
        if let Some(at) = stack.iter().position(|s| *s == f) {
            let mut circle = stack[at..].to_vec();
            circle.push(f);
            return Some(circle);
        }
        if !done.insert(f) {
            return None;
        }
        stack.push(f);
        for to in edges.get(f).into_iter().flatten() {
            if let Some(c) = visit(to, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for file in mods.values() {
        if let Some(circle) = visit(file, &edges, &mut Vec::new(), &mut done) {
            let names: Vec<_> = circle.iter().map(|p| p.display().to_string()).collect();
            panic!("import circle: {}", names.join(" -> "));
        }
    }
    assert!(
        edges.len() > 20,
        "the check found too few imports to be reading src/"
    );
}
