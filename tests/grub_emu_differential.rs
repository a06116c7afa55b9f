//! check's choice of the next GRUB entry against GRUB's own: Debian's
//! grub-emu (unpacked by tests/get-grub-emu) runs a root's grub.cfg with
//! GRUB's script engine, so that `load_env`, `${next_entry}`, the
//! `source`d custom.cfg and the menu's reading of `default` (index, title,
//! id, `>` into a submenu, falling back to the first entry) are GRUB's.
//! For every check fixture that boots through GRUB, and for a generated
//! corpus of grubenvs and custom.cfgs, check's kernel image and command
//! line must be those GRUB's `linux` line is given.
//!
//! Debian's grub-emu 2.06 has no `linux` loader (the emu one came later)
//! and no `blscfg` (a Fedora patch): a wrapper config defines `linux` as a
//! function that prints its words and halts, sources the root's grub.cfg
//! in the top context, as GRUB runs it at boot, and sets `timeout=0` so
//! that the menu boots its default at once. The BLS-reading fixtures are
//! compared by the bootctl test's rules, not here.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{FixtureRoot, CHECK_CASES};

/// The fixture whose root the generated corpus starts from: Debian's
/// grub.cfg with its next_entry handling and 41_custom.
const BASE: &str = "next-boot-grub-custom-cfg";

/// What the wrapper's `linux` prints before each of its words, one a
/// line: GRUB's console wraps a line at 80 columns.
const WORD: &str = "@@word ";
/// What it prints after the last.
const END: &str = "@@end";

/// Where check looks for grub.cfg, in its order (src/check/boot/grub/mod.rs).
const GRUB_DIRS: [&str; 2] = ["boot/grub", "boot/grub2"];

/// The kernel an entry boots: its image and command line.
#[derive(Debug, PartialEq, Eq)]
struct Boot {
    image: String,
    cmdline: String,
}

/// The directory of the grub.cfg check reads on `root`, if any.
fn grub_dir(root: &Path) -> Option<std::path::PathBuf> {
    let mut dirs: Vec<_> = GRUB_DIRS.iter().map(|d| root.join(d)).collect();
    let mut vendors: Vec<_> = std::fs::read_dir(root.join("boot/efi/EFI"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|vendor| vendor.path())
        .collect();
    vendors.sort();
    dirs.extend(vendors);
    dirs.into_iter().find(|dir| dir.join("grub.cfg").is_file())
}

/// What GRUB boots from the grub.cfg in `dir`: `Err` when it boots no
/// `linux` line.
fn grub_boot(grub_emu: &Path, dir: &Path, scratch: &Path) -> Result<Boot, String> {
    std::fs::create_dir_all(scratch).unwrap();
    let prefix = format!("(host){}", dir.display());
    let mut wrapper = String::new();
    for loader in ["linux", "linux16", "linuxefi"] {
        let _ = writeln!(
            wrapper,
            "function {loader} {{ for word in \"$@\"; do echo \"{WORD}$word\"; done; \
             echo {END}; halt; }}"
        );
    }
    // config_directory is what normal sets to the directory of the config
    // it reads; 41_custom sources custom.cfg from it.
    let _ = writeln!(
        wrapper,
        "set prefix=\"{prefix}\"\nset config_directory=\"{prefix}\"\n\
         source \"{prefix}/grub.cfg\"\nset timeout=0"
    );
    std::fs::write(scratch.join("grub.cfg"), wrapper).unwrap();
    let mut command = Command::new(grub_emu);
    command
        .arg("--directory")
        .arg(scratch)
        // No device map: GRUB sees no disk of this machine.
        .arg("--device-map")
        .arg(scratch.join("device.map"))
        .env("TERM", "dumb")
        // No video: `terminal_output gfxterm` fails, as on a machine
        // without a framebuffer, and GRUB keeps writing to the console.
        .env("SDL_VIDEODRIVER", "none")
        .env_remove("DISPLAY")
        .stdin(Stdio::null());
    let out = common::run_bounded(command, Duration::from_secs(5));
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains(END) {
        return Err(format!(
            "grub-emu booted no linux line ({}): {text}{}",
            out.status,
            common::stderr(&out)
        ));
    }
    let words: Vec<&str> = text
        .split(['\r', '\n'])
        .filter_map(|line| line.split_once(WORD).map(|(_, word)| word))
        .collect();
    Ok(Boot {
        image: words.first().unwrap_or(&"").to_string(),
        cmdline: words.get(1..).unwrap_or_default().join(" "),
    })
}

/// check's next kernel on `root`: its image and command line, and where
/// it says they come from.
fn check_boot(root: &FixtureRoot) -> (Result<Boot, String>, String) {
    let out = root
        .check_command(&["--json", "--next-boot"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kernel = &report["next_boot"]["kernel"];
    let source = kernel["source"].as_str().unwrap_or_default().to_string();
    let boot = match kernel["image"].as_str() {
        Some(image) => Ok(Boot {
            image: image.to_string(),
            cmdline: kernel["cmdline"].as_str().unwrap_or_default().to_string(),
        }),
        None => Err(format!("no image: {}", kernel["guess"])),
    };
    (boot, source)
}

/// Compares GRUB and check on `root`; false when GRUB does not decide
/// there (no grub.cfg, or one that hands over to blscfg).
fn compare(grub_emu: &Path, name: &str, root: &FixtureRoot, differ: &mut Vec<String>) -> bool {
    let Some(dir) = grub_dir(&root.path) else {
        return false;
    };
    let config = std::fs::read_to_string(dir.join("grub.cfg")).unwrap_or_default();
    if config.lines().any(|line| line.trim() == "blscfg") {
        return false;
    }
    let real = grub_boot(grub_emu, &dir, &root.path.join("grub-emu-wrapper"));
    let (theirs, source) = check_boot(root);
    if real != theirs {
        differ.push(format!(
            "{name}: GRUB {real:?}, check {theirs:?} (check's source: {source})"
        ));
    }
    true
}

/// The generated cases, from a seeded generator, so that a failing case
/// can be made again from its number.
struct Corpus(common::Xorshift);

impl Corpus {
    /// A way to name an entry of the base menu (or none of it), as
    /// `default`, `saved_entry` or `next_entry` may.
    fn selector(&mut self) -> String {
        const NAMES: [&str; 14] = [
            "0",
            "1",
            "2",
            "7",
            "1>0",
            "1>1",
            "1>5",
            "gnulinux-simple-1234",
            "gnulinux-advanced-1234>gnulinux-6.1.0-old-advanced-1234",
            "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-old",
            "Debian GNU/Linux",
            "custom-old",
            "Old kernel (custom)",
            "gone",
        ];
        NAMES[self.0.below(NAMES.len())].to_string()
    }

    /// A grubenv (with or without its signature line) and custom.cfg
    /// (none, an entry, or an entry and a `set default`).
    fn case(&mut self) -> (String, Option<String>) {
        let mut env = String::new();
        if self.0.below(8) != 0 {
            env.push_str("# GRUB Environment Block\n");
        }
        for key in ["saved_entry", "next_entry"] {
            if self.0.below(2) == 0 {
                let _ = writeln!(env, "{key}={}", self.selector());
            }
        }
        let custom = match self.0.below(3) {
            0 => None,
            choice => {
                let mut text = String::new();
                if choice == 2 {
                    let _ = writeln!(text, "set default=\"{}\"", self.selector());
                }
                text.push_str(
                    "menuentry 'Old kernel (custom)' --id custom-old {\n\
                     \tlinux\t/boot/vmlinuz-6.1.0-old root=UUID=1234 ro custom\n}\n",
                );
                Some(text)
            }
        };
        (env, custom)
    }
}

#[test]
fn check_boots_the_entry_grub_boots() {
    const TEST: &str = "check_boots_the_entry_grub_boots";
    let Some(grub_emu) =
        common::program_from_env(TEST, "KMOD_READY_GRUB_EMU", "tests/get-grub-emu")
    else {
        return;
    };
    let mut differ = Vec::new();
    let mut fixtures = 0;
    for case in CHECK_CASES.case_names() {
        let root = FixtureRoot::from_cases(&CHECK_CASES, &case);
        fixtures += usize::from(compare(&grub_emu, &case, &root, &mut differ));
    }
    let mut corpus = Corpus(common::Xorshift(0x6772_7562_656d_7521));
    let mut generated = 0;
    for n in 0..100 {
        let (env, custom) = corpus.case();
        let root = FixtureRoot::from_cases(&CHECK_CASES, BASE);
        let dir = root.path.join("boot/grub");
        std::fs::write(dir.join("grubenv"), &env).unwrap();
        match &custom {
            Some(text) => std::fs::write(dir.join("custom.cfg"), text).unwrap(),
            None => std::fs::remove_file(dir.join("custom.cfg")).unwrap(),
        }
        let name = format!("generated case {n} (grubenv {env:?}, custom.cfg {custom:?})");
        generated += usize::from(compare(&grub_emu, &name, &root, &mut differ));
    }
    assert!(
        differ.is_empty(),
        "check and GRUB disagree on {} of {} roots:\n{}",
        differ.len(),
        fixtures + generated,
        differ.join("\n")
    );
    assert!(
        fixtures >= 15 && generated == 100,
        "compared {fixtures} fixtures, {generated} generated cases"
    );
}
