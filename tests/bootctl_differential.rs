//! check's choice of the next systemd-boot entry against systemd's own:
//! `bootctl list` (Debian's, unpacked by tests/get-bootctl) reads the
//! entries and loader.conf with systemd's code and marks the entry it would
//! boot "(default)". For every check fixture that boots through systemd-boot
//! and for a generated corpus of entry sets, check's entry and command line
//! must be that entry's file and `options`.
//!
//! bootctl reads EFI variables only on a machine booted through EFI, which
//! this one is not: with `--no-variables` it decides from the files alone,
//! so check is run on the same root without `/sys/firmware/efi` (the EFI
//! variable rules are fixtures of their own, read from systemd-boot's
//! source). bootctl insists that the ESP be the root of a file system: it is
//! bind-mounted onto itself in a private mount namespace (root only).

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use common::{FixtureRoot, CHECK_CASES};

/// The fixture whose root the generated corpus starts from.
const BASE: &str = "next-boot-systemd-boot";

/// The entry a boot loader would boot: its file (a system path) and
/// command line.
#[derive(Debug, PartialEq, Eq)]
struct Choice {
    file: String,
    options: String,
}

fn bootctl_choice(bootctl: &Path, root: &Path, esp: &str) -> Choice {
    let esp = root.join(esp.trim_start_matches('/'));
    let lib = std::fs::read_dir(bootctl.parent().unwrap().parent().unwrap().join("lib"))
        .unwrap()
        .flatten()
        .map(|arch| arch.path().join("systemd"))
        .find(|dir| dir.is_dir())
        .expect("libsystemd-shared beside bootctl");
    let script = "mount --bind \"$1\" \"$1\" && exec env SYSTEMD_RELAX_ESP_CHECKS=1 \
                  LD_LIBRARY_PATH=\"$2\" \"$3\" --esp-path=\"$1\" --no-variables --no-pager list";
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .args([&esp, &lib, &bootctl.to_path_buf()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bootctl failed: {}{text}",
        common::stderr(&out)
    );
    let default = text
        .split("\n\n")
        .find(|block| {
            block
                .lines()
                .any(|l| l.trim_start().starts_with("title:") && l.contains("(default)"))
        })
        .unwrap_or_else(|| {
            panic!(
                "bootctl marks no entry (default) in {}: {text}{}",
                root.display(),
                common::stderr(&out)
            )
        });
    let field = |name: &str| {
        default
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let source = field("source:");
    let file = source
        .strip_prefix(&root.display().to_string())
        .unwrap_or(&source)
        .to_string();
    Choice {
        file,
        options: field("options:"),
    }
}

/// check's entry and the ESP it is on, or `None` when it is not
/// systemd-boot's to choose.
fn check_choice(root: &FixtureRoot) -> Option<(&'static str, Choice)> {
    let out = root
        .check_command(&["--json", "--next-boot"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kernel = &report["next_boot"]["kernel"];
    let source = kernel["source"].as_str()?;
    // systemd-boot's entries, not GRUB's blscfg reading them.
    let esp = ["/boot/efi", "/efi", "/boot"]
        .into_iter()
        .find(|esp| source.starts_with(&format!("{esp}/loader/entries")))?;
    if source.contains("(GRUB") {
        return None;
    }
    let file = source.rsplit_once(": ")?.1.to_string();
    let options = kernel["cmdline"].as_str().unwrap_or_default().to_string();
    Some((esp, Choice { file, options }))
}

fn compare(bootctl: &Path, name: &str, root: &FixtureRoot, differ: &mut Vec<String>) -> bool {
    let _ = std::fs::remove_dir_all(root.path.join("sys/firmware/efi"));
    let Some((esp, theirs)) = check_choice(root) else {
        return false;
    };
    let real = bootctl_choice(bootctl, &root.path, esp);
    if real != theirs {
        differ.push(format!("{name}: bootctl {real:?}, check {theirs:?}"));
    }
    true
}

/// The generated cases, from a seeded generator, so that a failing case
/// can be made again from its number.
struct Corpus(common::Xorshift);

impl Corpus {
    /// Entry files (name, text) and a loader.conf.
    fn case(&mut self) -> (Vec<(String, String)>, String) {
        const VERSIONS: [&str; 5] = [
            "6.1.0-test",
            "6.1.0-9",
            "6.12.0-new",
            "5.10.0-old",
            "6.1.0-10",
        ];
        const IDS: [&str; 3] = ["1234", "debian", "Fedora"];
        let mut files = Vec::new();
        for n in 0..1 + self.0.below(4) {
            let version = VERSIONS[self.0.below(VERSIONS.len())];
            let mut name = format!("{}-{version}", IDS[self.0.below(IDS.len())]);
            if files
                .iter()
                .any(|(f, _): &(String, String)| f.starts_with(&name))
            {
                name.push_str(&format!("-{n}"));
            }
            match self.0.below(4) {
                0 => name.push_str(&format!("+{}", self.0.below(3))),
                1 => name.push_str(&format!("+{}-{}", self.0.below(3), self.0.below(3))),
                _ => {}
            }
            let mut text = format!("title Debian\nversion {version}\nlinux /vmlinuz-{version}\n");
            if self.0.below(3) == 0 {
                let _ = writeln!(text, "sort-key {}", ["debian", "alpha"][self.0.below(2)]);
            }
            for line in 0..1 + self.0.below(3) {
                let _ = writeln!(text, "options root=UUID=1234 word{line}");
            }
            files.push((format!("{name}.conf"), text));
        }
        let mut loader = String::from("timeout 3\n");
        for _ in 0..self.0.below(3) {
            let pattern = match self.0.below(5) {
                0 => format!("*{}*", VERSIONS[self.0.below(VERSIONS.len())]),
                1 => files[self.0.below(files.len())].0.to_uppercase(),
                2 => files[self.0.below(files.len())].0.clone(),
                3 => "gone-*".to_string(),
                _ => "@saved".to_string(),
            };
            let _ = writeln!(loader, "default {pattern}");
        }
        (files, loader)
    }
}

#[test]
fn check_boots_the_entry_bootctl_marks_default() {
    const TEST: &str = "check_boots_the_entry_bootctl_marks_default";
    let Some(bootctl) = common::program_from_env(TEST, "KMOD_READY_BOOTCTL", "tests/get-bootctl")
    else {
        return;
    };
    if !common::running_as_root() {
        common::skip(TEST, "bootctl needs its ESP bind-mounted, which needs root");
        return;
    }
    let mut differ = Vec::new();
    let mut fixtures = 0;
    for case in CHECK_CASES.case_names() {
        let root = FixtureRoot::from_cases(&CHECK_CASES, &case);
        fixtures += usize::from(compare(&bootctl, &case, &root, &mut differ));
    }
    let mut corpus = Corpus(common::Xorshift(0x6b6d_6f64_7265_6479));
    let mut generated = 0;
    for n in 0..100 {
        let (files, loader) = corpus.case();
        let root = FixtureRoot::from_cases(&CHECK_CASES, BASE);
        let dir = root.path.join("boot/loader/entries");
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        std::fs::write(root.path.join("boot/loader/loader.conf"), &loader).unwrap();
        let name = format!("generated case {n} ({files:?}, loader.conf {loader:?})");
        generated += usize::from(compare(&bootctl, &name, &root, &mut differ));
    }
    assert!(
        differ.is_empty(),
        "check and bootctl disagree:\n{}",
        differ.join("\n")
    );
    assert!(
        fixtures >= 6 && generated == 100,
        "compared {fixtures} fixtures, {generated} generated cases"
    );
}
