//! The Raspberry Pi models as the firmware tells them apart: the section
//! filters that name one, which of them a device tree's model string
//! matches, and the image each boots without `kernel=`. The firmware's
//! table, apart from the reading of config.txt (mod.rs) that consults it.

use std::path::Path;

use crate::system::Facts;

/// The model filters the firmware knows, as its documentation lists them.
const MODEL_FILTERS: [&str; 15] = [
    "pi1", "pi2", "pi3", "pi3+", "pi4", "pi400", "cm4", "cm4s", "pi0", "pi0w", "pi02", "pi5",
    "pi500", "cm5", "cm3",
];

pub(super) fn is_model_filter(filter: &str) -> bool {
    MODEL_FILTERS.contains(&filter)
}

/// The model filters that match a device tree model string.
pub(super) fn model_filters(model: &str) -> Vec<&'static str> {
    let name = model.strip_prefix("Raspberry Pi ").unwrap_or(model);
    let has = |word: &str| name.starts_with(word);
    if has("Compute Module 5") {
        vec!["pi5", "cm5"]
    } else if has("500") {
        vec!["pi5", "pi500"]
    } else if has("5 ") {
        vec!["pi5"]
    } else if has("Compute Module 4S") {
        vec!["pi4", "cm4s"]
    } else if has("Compute Module 4") {
        vec!["pi4", "cm4"]
    } else if has("400") {
        vec!["pi4", "pi400"]
    } else if has("4 ") {
        vec!["pi4"]
    } else if has("Compute Module 3") {
        vec!["pi3", "cm3"]
    } else if has("3 Model A Plus") || has("3 Model B Plus") {
        vec!["pi3", "pi3+"]
    } else if has("3 ") {
        vec!["pi3"]
    } else if has("2 ") {
        vec!["pi2"]
    } else if has("Zero 2") {
        vec!["pi0", "pi02"]
    } else if has("Zero W") {
        vec!["pi0", "pi0w"]
    } else if has("Zero") {
        vec!["pi0"]
    } else if has("Model") || has("Compute Module") {
        vec!["pi1"]
    } else {
        Vec::new()
    }
}

/// The image the firmware loads without `kernel=`: 64-bit by default on the
/// Pi 4 and 5 (`arm_64bit=` decides elsewhere); the Pi 5's own image when
/// it is there.
pub(super) fn default_kernel(
    facts: &Facts,
    dir: &Path,
    filters: &[&str],
    arm_64bit: Option<bool>,
) -> Option<String> {
    let is = |filter: &str| filters.contains(&filter);
    let wide = arm_64bit.unwrap_or(is("pi4") || is("pi5"));
    let name = if is("pi5") && facts.root.exists(dir.join("kernel_2712.img")) {
        "kernel_2712.img"
    } else if wide {
        "kernel8.img"
    } else if is("pi4") {
        "kernel7l.img"
    } else if is("pi2") || is("pi3") || is("pi02") {
        "kernel7.img"
    } else if is("pi1") || is("pi0") {
        "kernel.img"
    } else {
        return None;
    };
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_and_their_filters() {
        assert_eq!(model_filters("Raspberry Pi 400 Rev 1.0"), ["pi4", "pi400"]);
        assert_eq!(
            model_filters("Raspberry Pi Compute Module 4S Rev 1.0"),
            ["pi4", "cm4s"]
        );
        assert_eq!(
            model_filters("Raspberry Pi Zero 2 W Rev 1.0"),
            ["pi0", "pi02"]
        );
        assert_eq!(model_filters("Raspberry Pi 5 Model B Rev 1.0"), ["pi5"]);
        assert_eq!(model_filters("Raspberry Pi Model B Plus Rev 1.2"), ["pi1"]);
        assert!(model_filters("QEMU Virtual Machine").is_empty());
    }
}
