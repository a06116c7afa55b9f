//! Collecting the facts `check` reports, read-only: kernel, container,
//! libkmod, each module, kubelite.

use std::path::Path;

use crate::cause::libkmod_unavailable;
use crate::check::kubelite::Kubelite;
use crate::libkmod::{Context, Libkmod};
use crate::modprobe_d::{self, Location};
use crate::readiness::{sys_module_dir, Requirement};
use crate::system::{
    cmdline_module_blacklist, cmdline_module_list, normalize_module_name, Facts, Root,
};

use super::report::*;

const DEFAULT_MODULE: &str = "nf_conntrack";

/// Reads every fact; never changes anything.
pub fn collect(requested: &[String], root: Root) -> (Report, Facts) {
    let facts = Facts::read(root);
    let container = facts.container().map(str::to_string);
    let kubelite = Kubelite::read(&facts);
    let modules = modules_to_check(requested, &kubelite);
    let kernel = kernel(&facts);
    let lib = Libkmod::open();
    // libkmod would hang on a FIFO among the modprobe.d files: not opened.
    let blocking_config = modprobe_d::blocking_config(&facts.root);
    // And on a FIFO among the module index files.
    let blocking_index = facts.blocking_index();
    let blocked = blocking_config.is_some() || blocking_index.is_some();
    let ctx = match (&lib, kernel.module_dir_exists, blocked) {
        (Ok(lib), true, false) => facts.libkmod_context(lib),
        _ => None,
    };
    let usable = lib.is_ok() && !blocked;
    let modules = modules
        .iter()
        .map(|name| module_report(&facts, &kernel, ctx.as_ref(), usable, name))
        .collect();
    let kube_proxy = super::kube_proxy::kube_proxy(&facts, ctx.as_ref(), &kernel.module_dir);
    let report = Report {
        schema: SCHEMA,
        kernel,
        container,
        libkmod: libkmod_state(lib.as_ref().err()),
        modules,
        kube_proxy,
        kubelite,
        skipped: Vec::new(),
        next_boot: None,
        blocking_config,
        blocking_index,
        verdict: Verdict::default(),
    };
    (report, facts)
}

/// Those asked for, else those the kubelite drop-in gives kmod-ready, else
/// nf_conntrack.
fn modules_to_check(requested: &[String], kubelite: &Kubelite) -> Vec<String> {
    if !requested.is_empty() {
        requested.to_vec()
    } else if !kubelite.kmod_ready_modules.is_empty() {
        kubelite.kmod_ready_modules.clone()
    } else {
        vec![DEFAULT_MODULE.to_string()]
    }
}

fn kernel(facts: &Facts) -> Kernel {
    let root = &facts.root;
    let cmdline = facts.kernel_cmdline();
    let module_dir = root.module_dir(&facts.release);
    Kernel {
        release: facts.release.clone(),
        module_dir: module_dir
            .clone()
            .unwrap_or_else(|| Path::new("/lib/modules").join(&facts.release))
            .display()
            .to_string(),
        module_dir_exists: module_dir.is_some(),
        installed_releases: root.installed_releases(),
        lockdown: facts.lockdown(),
        modules_disabled: facts.modules_disabled(),
        module_blacklist: cmdline_module_blacklist(&cmdline),
        modprobe_blacklist: cmdline_module_list(&cmdline, "modprobe.blacklist"),
    }
}

fn libkmod_state(error: Option<&libloading::Error>) -> LibkmodState {
    LibkmodState {
        available: error.is_none(),
        error: error.map(|err| libkmod_unavailable(&err.to_string())),
        reason: error.map(ToString::to_string),
    }
}

/// What libkmod says about a name: the modules it resolves to, the file of
/// the first one and the dependencies of all, and which are blacklisted.
#[derive(Default)]
struct Lookup {
    resolved: Vec<String>,
    file: Option<String>,
    dependencies: Vec<String>,
    blacklisted: Vec<String>,
}

fn lookup(ctx: &Context, root: &Root, name: &str) -> Lookup {
    let Ok(list) = ctx.lookup(name) else {
        return Lookup::default();
    };
    let modules = list.modules();
    let mut found = Lookup {
        resolved: modules.iter().map(|m| m.name()).collect(),
        blacklisted: list.blacklisted().unwrap_or_default(),
        ..Lookup::default()
    };
    for module in &modules {
        if found.file.is_none() {
            found.file = module.path().map(|p| system_path(root, &p));
        }
        for dep in module.dependencies() {
            if !found.dependencies.contains(&dep) {
                found.dependencies.push(dep);
            }
        }
    }
    found
}

/// A path libkmod returned under a test root, as the system path.
pub(super) fn system_path(root: &Root, path: &str) -> String {
    let prefix = root.path("/");
    match Path::new(path).strip_prefix(&prefix) {
        Ok(rest) if !root.is_system_root() => format!("/{}", rest.display()),
        _ => path.to_string(),
    }
}

fn module_report(
    facts: &Facts,
    kernel: &Kernel,
    ctx: Option<&Context>,
    have_libkmod: bool,
    name: &str,
) -> ModuleReport {
    let root = &facts.root;
    let found = ctx.map(|ctx| lookup(ctx, root, name)).unwrap_or_default();
    let resolved = if found.resolved.is_empty() {
        vec![normalize_module_name(name)]
    } else {
        found.resolved.clone()
    };
    let builtin = builtin_of(facts, kernel, &resolved);
    let mut module = ModuleReport {
        name: name.to_string(),
        state: State::Unknown,
        paths: readiness(facts, name, &resolved, &builtin),
        file: found.file.clone(),
        dependencies: found.dependencies.clone(),
        blacklisted_at: capped(
            facts,
            blacklist_locations(facts, kernel, &resolved),
            name,
            "blacklist",
        ),
        modules_load_d: capped(
            facts,
            resolved
                .iter()
                .flat_map(|m| modprobe_d::modules_load_d_lists(facts, m))
                .collect(),
            name,
            "modules-load.d",
        ),
        install_lines: resolved
            .iter()
            .flat_map(|m| modprobe_d::install_lines_for(facts, m))
            .collect(),
        resolved,
    };
    let loaded = module
        .resolved
        .iter()
        .any(|m| root.exists(sys_module_dir(m)));
    let found = Found {
        loaded,
        builtin: builtin.len(),
        in_tree: !found.resolved.is_empty(),
        blacklisted: !found.blacklisted.is_empty(),
        disabled_by_install: module
            .install_lines
            .first()
            .is_some_and(|l| l.loads_nothing()),
        have_libkmod,
    };
    module.state = module_state(&module, kernel, found);
    module
}

/// Which of the resolved modules the kernel has built in: listed in
/// modules.builtin, or with a /sys/module directory but no `initstate`
/// (a loaded module always has one).
fn builtin_of(facts: &Facts, kernel: &Kernel, resolved: &[String]) -> Vec<String> {
    let root = &facts.root;
    resolved
        .iter()
        .filter(|m| {
            facts.listed_builtin(Path::new(&kernel.module_dir), m)
                || (root.exists(sys_module_dir(m))
                    && !root.exists(sys_module_dir(m).join("initstate")))
        })
        .cloned()
        .collect()
}

/// The readiness paths of `name`, once resolved, and whether each exists.
fn readiness(facts: &Facts, name: &str, resolved: &[String], builtin: &[String]) -> Vec<PathState> {
    let root = &facts.root;
    let mut requirement = Requirement::new(name);
    requirement.resolve_alias(resolved);
    for module in builtin {
        requirement.drop_sys_module_dir(module);
    }
    let missing = requirement.missing(root);
    requirement
        .paths
        .iter()
        .map(|path| PathState {
            path: path.clone(),
            exists: root.exists(path),
            present: !missing.contains(path),
            value: path_value(facts, path),
        })
        .collect()
}

/// modprobe.d `blacklist` lines, and `modprobe.blacklist=` on the kernel
/// command line, that name one of the resolved modules.
fn blacklist_locations(facts: &Facts, kernel: &Kernel, resolved: &[String]) -> Vec<Location> {
    let mut locations: Vec<Location> = resolved
        .iter()
        .flat_map(|m| modprobe_d::blacklisted_at(facts, m))
        .collect();
    if resolved
        .iter()
        .any(|m| kernel.modprobe_blacklist.contains(m))
    {
        locations.push(Location {
            file: CMDLINE.into(),
            line: 1,
        });
    }
    locations
}

/// The most lines of one kind a report lists for a module.
const MAX_LISTED: usize = 20;

/// The first [`MAX_LISTED`] of `locations`; the count of the rest goes
/// under `skipped`, so that no file can make the report huge.
fn capped(facts: &Facts, mut locations: Vec<Location>, module: &str, what: &str) -> Vec<Location> {
    if locations.len() > MAX_LISTED {
        let rest = locations.len() - MAX_LISTED;
        facts.note_unread(format!("{module}: {rest} more {what} lines not listed"));
        locations.truncate(MAX_LISTED);
    }
    locations
}

/// The content of a small file (a sysctl, a module parameter), or a module
/// directory's `initstate`.
fn path_value(facts: &Facts, path: &Path) -> Option<String> {
    let file = if facts.root.path(path).is_dir() {
        path.join("initstate")
    } else {
        path.to_path_buf()
    };
    let text = facts.read_bytes(file, crate::input::SMALL)?;
    let text = String::from_utf8_lossy(&text[..text.len().min(200)]);
    let value = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!value.is_empty()).then_some(value)
}

/// What `check` found of one module in the kernel and in its tree, besides
/// its report.
#[derive(Clone, Copy)]
struct Found {
    /// One of the modules it resolves to is loaded.
    pub loaded: bool,
    /// How many of the modules it resolves to are built in.
    pub builtin: usize,
    /// libkmod resolved the name to at least one module.
    pub in_tree: bool,
    /// libkmod says a module it resolves to is blacklisted.
    pub blacklisted: bool,
    /// The install line libkmod would run for it loads nothing.
    pub disabled_by_install: bool,
    /// libkmod could look it up at all.
    pub have_libkmod: bool,
}

/// The state `check` reports for a module, most settled first.
fn module_state(module: &ModuleReport, kernel: &Kernel, found: Found) -> State {
    let paths_present = module.paths.iter().all(|p| p.present);
    if paths_present && found.builtin == module.resolved.len() {
        State::Builtin
    } else if paths_present {
        State::Ready
    } else if found.loaded || found.builtin > 0 {
        State::LoadedNotReady
    } else if !kernel.module_dir_exists {
        State::NotFound
    } else if !found.have_libkmod {
        State::Unknown
    } else if !found.in_tree {
        State::NotFound
    } else if denied_on_cmdline(module, kernel).is_some() {
        State::DeniedByCmdline
    } else if !module.blacklisted_at.is_empty() || found.blacklisted {
        State::Blacklisted
    } else if found.disabled_by_install {
        State::DisabledByInstall
    } else {
        State::Loadable
    }
}

/// The module `module_blacklist=` denies, of those `module` resolves to.
pub(super) fn denied_on_cmdline(module: &ModuleReport, kernel: &Kernel) -> Option<String> {
    module
        .resolved
        .iter()
        .find(|m| kernel.module_blacklist.contains(m))
        .cloned()
}
