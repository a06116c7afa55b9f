//! The next-boot section: the kernel the boot loader picks, each module in
//! its tree, and who loads it.

use super::kube_proxy::render_contract;
use super::{Out, Tone};
use crate::check::report::{NextBoot, NextState as NextStateView};

/// The `--next-boot` paragraph: the kernel, from where, and each module.
pub(super) fn render_next_boot(out: &mut Out, next: &NextBoot, kube_proxy_mode: Option<&str>) {
    let kernel = &next.kernel;
    let (release, tone) = match &kernel.release {
        Some(release) => (release.as_str(), Tone::Plain),
        None => ("unknown", Tone::Bad),
    };
    out.field("next boot", tone, release);
    out.field("  from", Tone::Plain, &kernel.source);
    if let Some(guess) = &kernel.guess {
        out.field("  guess", Tone::Warn, guess);
    }
    if let Some(image) = &kernel.image {
        out.field("  image", Tone::Plain, image);
    }
    let cmdline_note = if kernel.cmdline.is_some() {
        ""
    } else {
        " (the running one)"
    };
    out.field(
        "  cmdline",
        Tone::Plain,
        &format!("{}{cmdline_note}", next.cmdline),
    );
    match &next.module_dir {
        Some(dir) => out.field("  module dir", Tone::Plain, dir),
        None => out.field("  module dir", Tone::Bad, "none"),
    }
    for module in &next.modules {
        let tone = if module.is_ready() {
            Tone::Good
        } else {
            Tone::Bad
        };
        let by = match (module.state, module.loaded_by.is_empty()) {
            (NextStateView::Loadable, true) => ", and nothing loads it before kubelite".to_string(),
            (NextStateView::Loadable, false) => {
                format!(", loaded by {}", module.loaded_by.join(", "))
            }
            _ => match &module.missing_dependency {
                Some(dependency) => format!(": {} ({})", dependency.name, dependency.file),
                None => String::new(),
            },
        };
        out.field(
            &format!("  {}", module.name),
            tone,
            &format!("{}{by}", module.state.as_str()),
        );
    }
    // A mode check does not know has no contract to show.
    let contract = next.kube_proxy.as_ref().filter(|c| !c.modules.is_empty());
    if let (Some(contract), Some(mode)) = (contract, kube_proxy_mode) {
        out.field(
            "  kube-proxy",
            Tone::Plain,
            &format!("{mode}, on this kernel:"),
        );
        render_contract(out, "    ", contract);
    }
    if let Some(enabled) = next.kubelite_enabled {
        let (text, tone) = if enabled {
            ("enabled", Tone::Plain)
        } else {
            ("not enabled: it will not start at boot", Tone::Bad)
        };
        out.field("  kubelite", tone, text);
    }
}
