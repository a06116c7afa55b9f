//! Raspberry Pi firmware: the GPU firmware reads `config.txt` on the boot
//! partition (`/boot/firmware` on Debian, Ubuntu and Raspberry Pi OS since
//! bookworm, `/boot` before) and boots its `kernel=` (after `os_prefix=`),
//! or the default image for the model, with the first line of `cmdline.txt`
//! (or the file `cmdline=` names) as the command line.
//!
//! Sections apply as the firmware applies them: `[all]` resets the filters,
//! `[none]` never applies, a model filter (`[pi4]`, `[pi400]`, `[cm4]`…)
//! replaces the previous one and is decided from the device tree's model.
//! What files cannot decide is left out and said: `[tryboot]` applies only
//! to a boot that `reboot '0 tryboot'` asked for (the normal boot is
//! assumed), and filters on the hardware at boot time (`[gpioN=…]`,
//! `[EDID=…]`, `[HDMI:…]`, a serial number, `[board-type=…]`,
//! `[partition=…]`) are not evaluated.

mod model;

use std::path::{Path, PathBuf};

use crate::input;
use crate::system::Facts;

use super::{release_of_image, NextKernel};

use model::{default_kernel, is_model_filter, model_filters};

/// Where the firmware's boot partition is mounted, newest layout first.
const FIRMWARE_DIRS: [&str; 2] = ["/boot/firmware", "/boot"];
/// The device tree's model string ("Raspberry Pi 4 Model B Rev 1.4").
const MODEL_FILES: [&str; 2] = [
    "/proc/device-tree/model",
    "/sys/firmware/devicetree/base/model",
];
/// How deep `include` lines are followed.
const MAX_INCLUDE_DEPTH: usize = 4;

/// The settings of config.txt that choose the kernel and command line.
#[derive(Default)]
struct Settings {
    kernel: Option<String>,
    cmdline: Option<String>,
    os_prefix: Option<String>,
    arm_64bit: Option<bool>,
    /// Filters of sections that set one of them but that files cannot decide.
    undecided: Vec<String>,
}

/// Which sections apply at the line being read.
#[derive(Default)]
struct Section {
    /// The model filter in force, if any.
    model: Option<String>,
    /// `[none]` or `[tryboot]`: not on a normal boot.
    never: bool,
    /// Filters in force that files cannot decide.
    undecided: Vec<String>,
}

pub(super) fn next_kernel(facts: &Facts) -> Option<NextKernel> {
    let (dir, config) = FIRMWARE_DIRS.iter().find_map(|dir| {
        let dir = PathBuf::from(dir);
        let text = facts.read_bytes(dir.join("config.txt"), input::CONFIG)?;
        Some((dir, String::from_utf8_lossy(&text).into_owned()))
    })?;
    let model = MODEL_FILES.iter().find_map(|file| {
        let bytes = facts.read_bytes(file, input::SMALL)?;
        let text = String::from_utf8_lossy(&bytes);
        Some(text.trim_end_matches('\0').trim().to_string())
    });
    let filters = model.as_deref().map(model_filters);
    let mut settings = Settings::default();
    let mut section = Section::default();
    read_config(
        facts,
        &dir,
        &config,
        filters.as_deref(),
        &mut section,
        &mut settings,
        0,
    );
    let config_file = dir.join("config.txt");
    let prefix = settings.os_prefix.clone().unwrap_or_default();
    let mut guesses = Vec::new();
    if !settings.undecided.is_empty() {
        guesses.push(format!(
            "{} sets the kernel or command line in sections check cannot decide ({}): they \
             were left out",
            config_file.display(),
            settings.undecided.join(", ")
        ));
    }
    let (kernel, named_by) = match (&settings.kernel, filters.as_deref()) {
        (Some(kernel), _) => (Some(kernel.clone()), format!("kernel={kernel}")),
        (None, Some(filters)) => {
            let kernel = default_kernel(facts, &dir, filters, settings.arm_64bit);
            let model = model.clone().unwrap_or_default();
            let named_by = format!(
                "no kernel=, so {}, the default for a {model}",
                kernel.clone().unwrap_or_default()
            );
            (kernel, named_by)
        }
        (None, None) => (None, String::new()),
    };
    let Some(kernel) = kernel else {
        let why = format!(
            "{} has no kernel= and the model is unknown (no {}), so its default image cannot be told",
            config_file.display(),
            MODEL_FILES[0]
        );
        return Some(NextKernel::unknown(config_file.display().to_string(), why));
    };
    let image = dir.join(format!("{prefix}{kernel}"));
    let cmdline_file = dir.join(format!(
        "{prefix}{}",
        settings.cmdline.as_deref().unwrap_or("cmdline.txt")
    ));
    let cmdline = facts.read_bytes(&cmdline_file, input::CMDLINE).map(|text| {
        let text = String::from_utf8_lossy(&text);
        // The firmware reads one line.
        let line = text.lines().next().unwrap_or_default();
        line.split_whitespace().collect::<Vec<_>>().join(" ")
    });
    if cmdline.is_none() {
        guesses.push(format!(
            "{} is missing: the running kernel's command line is assumed",
            cmdline_file.display()
        ));
    }
    let mut source = format!("{}: {named_by}", config_file.display());
    let release = match release_of_image(&kernel) {
        Some(release) => Some(release.to_string()),
        None => match same_image(facts, &image) {
            Ok(Some((release, copy_of))) => {
                source.push_str(&format!(", the same bytes as {copy_of}"));
                Some(release)
            }
            Ok(None) => {
                guesses.push(format!(
                    "the release of {} is unknown: its name has none and no /boot/vmlinuz-* has \
                     the same bytes",
                    image.display()
                ));
                None
            }
            Err(why) => {
                guesses.push(format!(
                    "the release of {} is unknown: {why}",
                    image.display()
                ));
                None
            }
        },
    };
    Some(NextKernel {
        release,
        image: Some(image.display().to_string()),
        cmdline,
        source,
        guess: (!guesses.is_empty()).then(|| guesses.join("; ")),
    })
}

/// Reads one config file's lines into `settings`, following `include`.
fn read_config(
    facts: &Facts,
    dir: &Path,
    text: &str,
    filters: Option<&[&str]>,
    section: &mut Section,
    settings: &mut Settings,
    depth: usize,
) {
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(filter) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            enter(section, filter);
            continue;
        }
        if let Some(file) = line.strip_prefix("include ") {
            if depth < MAX_INCLUDE_DEPTH {
                let included = facts
                    .read_bytes(dir.join(file.trim()), input::CONFIG)
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                read_config(facts, dir, &included, filters, section, settings, depth + 1);
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim().to_string());
        if !matches!(key, "kernel" | "cmdline" | "os_prefix" | "arm_64bit") {
            continue;
        }
        match applies(section, filters) {
            Some(false) => continue,
            Some(true) => {}
            None => {
                let filter = section
                    .undecided
                    .first()
                    .cloned()
                    .or_else(|| section.model.clone())
                    .unwrap_or_default();
                let filter = format!("[{filter}]");
                if !settings.undecided.contains(&filter) {
                    settings.undecided.push(filter);
                }
                continue;
            }
        }
        match key {
            "kernel" => settings.kernel = Some(value),
            "cmdline" => settings.cmdline = Some(value),
            "os_prefix" => settings.os_prefix = Some(value),
            _ => settings.arm_64bit = Some(value != "0"),
        }
    }
}

/// A `[filter]` line.
fn enter(section: &mut Section, filter: &str) {
    match filter {
        "all" => *section = Section::default(),
        "none" | "tryboot" => section.never = true,
        _ if is_model_filter(filter) => section.model = Some(filter.to_string()),
        _ => section.undecided.push(filter.to_string()),
    }
}

/// Whether the current section applies: `None` when files cannot tell.
fn applies(section: &Section, filters: Option<&[&str]>) -> Option<bool> {
    if section.never {
        return Some(false);
    }
    let model = match (&section.model, filters) {
        (None, _) => true,
        (Some(model), Some(filters)) => filters.contains(&model.as_str()),
        (Some(_), None) => return None,
    };
    if !model {
        Some(false)
    } else if section.undecided.is_empty() {
        Some(true)
    } else {
        None
    }
}

/// The release of the `/boot/vmlinuz-RELEASE` that `image` is a copy of
/// (Debian's raspi-firmware and Ubuntu's flash-kernel copy the kernel to
/// the boot partition under a name without its release), and that file.
fn same_image(facts: &Facts, image: &Path) -> Result<Option<(String, String)>, String> {
    let full = facts.root.path(image);
    match std::fs::metadata(&full) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Err("it is not a regular file".to_string()),
        Err(_) => return Err("it is missing".to_string()),
    }
    let mut candidates: Vec<String> = std::fs::read_dir(facts.root.path("/boot"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.starts_with("vmlinuz-") && release_of_image(name).is_some())
        .collect();
    candidates.sort();
    for name in candidates {
        let copy_of = format!("/boot/{name}");
        match input::same_contents(&full, &facts.root.path(&copy_of)) {
            Ok(true) => {
                let release = release_of_image(&name).unwrap_or_default().to_string();
                return Ok(Some((release, copy_of)));
            }
            Ok(false) => {}
            Err(err) => facts.note_unread(format!("{copy_of}: {err}")),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_of(config: &str, model: Option<&str>) -> Settings {
        let facts = Facts::read(crate::system::Root::new("/nonexistent-root"));
        let filters = model.map(model_filters);
        let mut settings = Settings::default();
        read_config(
            &facts,
            Path::new("/boot/firmware"),
            config,
            filters.as_deref(),
            &mut Section::default(),
            &mut settings,
            0,
        );
        settings
    }

    #[test]
    fn sections_apply_as_the_firmware_applies_them() {
        let config = "kernel=a\n[pi3]\nkernel=b\n[pi4]\nkernel=c\n[none]\nkernel=d\n[all]\n\
                      cmdline=x.txt\n[tryboot]\nkernel=e\n";
        let pi4 = settings_of(config, Some("Raspberry Pi 4 Model B Rev 1.4"));
        assert_eq!(pi4.kernel.as_deref(), Some("c"));
        assert_eq!(pi4.cmdline.as_deref(), Some("x.txt"));
        let pi3 = settings_of(config, Some("Raspberry Pi 3 Model B Plus Rev 1.3"));
        assert_eq!(pi3.kernel.as_deref(), Some("b"));
        let unknown = settings_of(config, None);
        assert_eq!(unknown.kernel.as_deref(), Some("a"));
        assert_eq!(unknown.undecided, ["[pi3]", "[pi4]"]);
        let gpio = settings_of(
            "[all]\nkernel=a\n[gpio4=1]\nkernel=b\n",
            Some("Raspberry Pi 5"),
        );
        assert_eq!(gpio.kernel.as_deref(), Some("a"));
        assert_eq!(gpio.undecided, ["[gpio4=1]"]);
    }
}
