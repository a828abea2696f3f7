//! The README as a forge renders it: its Rust blocks are whole programs without rustdoc's
//! hidden lines (they run as doctests as they stand, through `weir::ReadmeDoctests`), its
//! install line names this package, and its metrics table lists every exported metric.

const README: &str = include_str!("../README.md");
const MANIFEST: &str = include_str!("../Cargo.toml");

/// The body of every fenced block whose info string is `lang`.
fn blocks(lang: &str) -> Vec<Vec<&'static str>> {
    let mut blocks = Vec::new();
    // In a block: whether it is kept, and its lines so far.
    let mut current: Option<(bool, Vec<&str>)> = None;
    for line in README.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (current.take(), fence) {
            (None, Some(info)) => current = Some((info == lang, Vec::new())),
            (None, None) => {}
            (Some((keep, block)), Some(_)) => {
                if keep {
                    blocks.push(block);
                }
            }
            (Some((keep, mut block)), None) => {
                block.push(line);
                current = Some((keep, block));
            }
        }
    }
    blocks
}

#[test]
fn rust_blocks_are_whole_programs_without_hidden_lines() {
    let rust = blocks("rust");
    assert!(rust.len() >= 5, "the README's examples: {}", rust.len());
    for block in &rust {
        for line in block {
            let t = line.trim_start();
            // rustdoc hides `# x` and a lone `#`; attributes (`#[…]`, `#![…]`) are not hidden.
            assert!(
                !(t == "#" || t.starts_with("# ")),
                "a hidden line, shown literally on a forge: {line:?}"
            );
        }
        assert!(
            block.iter().any(|l| l.starts_with("fn main()")),
            "a block without its fn main: {}",
            block.join("\n")
        );
    }
}

#[test]
fn the_install_line_names_this_package() {
    let name = MANIFEST
        .split("\n[package]\n")
        .nth(1)
        .and_then(|package| package.lines().find_map(|l| l.strip_prefix("name = ")))
        .map(|n| n.trim_matches('"'))
        .expect("the package's name");
    assert_eq!(name, "weir-stream");
    let install = format!("cargo add {name}");
    assert!(
        blocks("sh")
            .iter()
            .flatten()
            .any(|l| l.starts_with(&install)),
        "the README installs with `{install}`"
    );
}

#[test]
fn the_metrics_table_lists_every_exported_metric() {
    let listed: Vec<&str> = README
        .lines()
        .filter_map(|l| l.strip_prefix("| `weir_"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let mut listed: Vec<String> = listed.iter().map(|n| format!("weir_{n}")).collect();
    let mut exported: Vec<String> = weir::runtime::metrics::ALL
        .iter()
        .map(|n| n.to_string())
        .collect();
    listed.sort();
    exported.sort();
    assert_eq!(listed, exported);
}
