//! What the README promises a newcomer, held to the program: its TOML examples pass `check`,
//! its exit-code table is the program's, and its command table names every flag.

use std::collections::BTreeSet;
use std::path::PathBuf;

use assert_cmd::Command;
use clap::CommandFactory;
use tempfile::TempDir;

fn readme() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(path).unwrap()
}

/// The bodies of the README's fenced blocks in `language`.
fn fenced_blocks(text: &str, language: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match current.as_mut() {
            None if line.trim() == format!("```{language}") => current = Some(String::new()),
            Some(_) if line.trim() == "```" => blocks.push(current.take().unwrap()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn every_toml_example_in_the_readme_passes_check() {
    let blocks = fenced_blocks(&readme(), "toml");
    assert!(!blocks.is_empty(), "the README has no ```toml block");
    let dir = TempDir::new().unwrap();
    for (i, block) in blocks.iter().enumerate() {
        let file = dir.path().join(format!("readme-{i}.toml"));
        std::fs::write(&file, block).unwrap();
        let out = Command::cargo_bin("densenet-lab")
            .unwrap()
            .current_dir(dir.path())
            .arg("check")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README ```toml block {} does not pass check:\n{}",
            i + 1,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The rows `| N | meaning |` of the README's exit-code table, in order.
fn readme_exit_codes(text: &str) -> Vec<(i32, String)> {
    let start = text
        .find("| exit code | meaning |")
        .expect("the README has an exit-code table");
    text[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            (cells[0].parse().unwrap(), cells[1].replace("\\|", "|"))
        })
        .collect()
}

#[test]
fn the_readme_exit_code_table_is_the_programs() {
    let ours: Vec<(i32, String)> = densenet_lab::cli::EXIT_CODES
        .iter()
        .map(|(code, meaning)| (*code, meaning.to_string()))
        .collect();
    assert_eq!(readme_exit_codes(&readme()), ours);
}

/// Every subcommand's long flags, except the ones the README explains once for all commands.
fn flags_of(command: &clap::Command) -> BTreeSet<String> {
    let shared = ["format", "db", "data-dir", "help", "version"];
    command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|long| !shared.contains(long))
        .map(|long| format!("--{long}"))
        .collect()
}

/// The README's command table row of `name` (`| `densenet-lab NAME ...` | ... |`).
fn command_row<'a>(text: &'a str, name: &str) -> &'a str {
    let prefix = format!("| `densenet-lab {name}");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("the README's command table has no row for `{name}`"))
}

#[test]
fn the_readme_command_table_names_every_flag_of_every_command() {
    let text = readme();
    let cli = densenet_lab::cli::Cli::command();
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let leaves: Vec<(String, &clap::Command)> = if sub.has_subcommands() {
            sub.get_subcommands()
                .map(|leaf| (format!("{} {}", sub.get_name(), leaf.get_name()), leaf))
                .collect()
        } else {
            vec![(sub.get_name().to_string(), sub)]
        };
        for (name, command) in leaves {
            let row = command_row(&text, &name);
            for flag in flags_of(command) {
                assert!(
                    row.contains(&flag),
                    "the README's row for `{name}` does not name {flag}: {row}"
                );
            }
        }
    }
}

/// `--help` alone is enough: every argument of every command says what it is.
#[test]
fn every_argument_of_every_command_has_a_description() {
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut cli = densenet_lab::cli::Cli::command();
    cli.build();
    let mut missing = Vec::new();
    walk(&cli, "densenet-lab", &mut missing);
    assert!(missing.is_empty(), "arguments without help: {missing:?}");
}
