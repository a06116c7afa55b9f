//! Why libkmod found nothing or the kernel refused an insertion: the
//! decisions loading makes, which `check` makes again for a module that is
//! not loaded (in its diagnosis). The words are in describe.rs.

use nix::errno::Errno;

use crate::readiness::kconfig_option;
use crate::system::{cmdline_module_blacklist, has_cap_sys_module, Facts};

use super::Cause;

/// `name` resolves to nothing: say whether the kernel cannot load modules
/// at all (built without module support), has no modules at all (upgraded
/// without a reboot?) or just not this one.
pub fn absent(facts: &Facts, name: &str) -> Cause {
    let release = facts.release.clone();
    if let Some(container) = in_container(facts) {
        return container;
    }
    if !facts.root.exists("/proc/modules") {
        return Cause::KernelWithoutModules {
            release,
            option: kconfig_option(name).map(str::to_string),
        };
    }
    match facts.root.module_dir(&release) {
        None => Cause::ModuleDirMissing {
            installed: facts.root.installed_releases(),
            release,
        },
        Some(dir) => Cause::NotFound {
            module_dir: dir.display().to_string(),
            release,
        },
    }
}

/// The kernel (or an `install` command) refused the module `failed` with
/// `errno`.
pub fn refused(facts: &Facts, failed: &str, errno: Errno) -> Cause {
    let release = facts.release.clone();
    let failed = failed.to_string();
    match errno {
        Errno::EPERM | Errno::EACCES => not_permitted(facts, failed),
        Errno::EKEYREJECTED | Errno::ENOKEY | Errno::EKEYEXPIRED | Errno::EBADMSG => {
            Cause::SignatureRejected
        }
        Errno::ENOSYS => Cause::NoModuleSupport { release },
        Errno::ENOEXEC => Cause::BadFormat { release },
        Errno::ENOENT => Cause::UnknownSymbol { failed },
        Errno::EINVAL => Cause::InstallLineFailed { failed },
        _ => Cause::InsertFailed,
    }
}

/// EPERM: the first of the reasons the kernel refuses a module that holds.
fn not_permitted(facts: &Facts, failed: String) -> Cause {
    if cmdline_module_blacklist(&facts.kernel_cmdline()).contains(&failed) {
        return Cause::DeniedOnCommandLine { denied: failed };
    }
    if let Some(container) = in_container(facts) {
        return container;
    }
    if has_cap_sys_module() == Some(false) {
        Cause::NoCapSysModule
    } else if facts.modules_disabled() {
        Cause::ModulesDisabled
    } else if let Some(mode) = facts.lockdown() {
        Cause::Lockdown { mode }
    } else {
        Cause::KernelRefused
    }
}

/// In a container, the cause of any failure to load.
pub fn in_container(facts: &Facts) -> Option<Cause> {
    let kind = facts.container()?.to_string();
    Some(Cause::Container { kind })
}
