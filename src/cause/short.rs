//! Each cause in a few words, module first: the line `check --npd` gives
//! node-problem-detector, which keeps 80 bytes of it.

use super::Cause;
use crate::cli::format_duration;
use crate::libkmod::LIBRARY;
use crate::system::module_name_of;

impl Cause {
    /// The cause in a few words, naming `module` first: the line of
    /// `check --npd`, which node-problem-detector cuts at 80 bytes, so the
    /// module and the kind of cause come before any file or release.
    pub(super) fn short(&self, module: &str) -> String {
        match self {
            Cause::ModuleDirMissing { release, .. } => {
                format!("{module}: running kernel {release} has no /lib/modules; reboot")
            }
            Cause::NotFound { release, .. } => format!("{module}: not found for kernel {release}"),
            Cause::KernelWithoutModules { release, .. } => {
                format!("{module}: kernel {release} has no module support; build it in")
            }
            Cause::Container { kind } => {
                format!("{module}: in a container ({kind}); load it on the host")
            }
            Cause::LibkmodMissing { .. } => format!("{module}: not loaded; {LIBRARY} is missing"),
            Cause::ContextFailed => format!("{module}: libkmod could not set up"),
            Cause::LookupFailed { errno } => format!("{module}: libkmod lookup failed ({errno})"),
            Cause::BlacklistedAlias { target } => {
                format!("{module}: alias of {target}, which modprobe.d blacklists")
            }
            Cause::DeniedOnCommandLine { .. } => {
                format!("{module}: module_blacklist= on the kernel command line")
            }
            Cause::NoCapSysModule => format!("{module}: not loaded; no CAP_SYS_MODULE"),
            Cause::ModulesDisabled => {
                format!("{module}: module loading disabled until the next boot")
            }
            Cause::Lockdown { mode } => {
                format!("{module}: kernel locked down ({mode}); only signed modules load")
            }
            Cause::KernelRefused | Cause::InsertFailed => {
                format!("{module}: the kernel refused it")
            }
            Cause::SignatureRejected => format!("{module}: the kernel rejected its signature"),
            Cause::NoModuleSupport { release } => {
                format!("{module}: kernel {release} was built without CONFIG_MODULES")
            }
            Cause::BadFormat { release } => format!("{module}: not built for kernel {release}"),
            Cause::UnknownSymbol { .. } => format!("{module}: unknown symbol or parameter"),
            Cause::InstallLineFailed { .. } => {
                format!("{module}: invalid parameters or install command")
            }
            Cause::InstallDidNotLoad {
                module: installed, ..
            } => format!("{module}: the install line of {installed} did not load it"),
            Cause::DisabledByInstallLine { command, .. } => {
                format!("{module}: disabled by a modprobe.d install line ({command})")
            }
            Cause::TimedOut { timeout, .. } => format!("{module}: not ready after {timeout}"),
            Cause::WaitForMissing { timeout, .. } => {
                format!("{module}: a --wait-for path is missing after {timeout}")
            }
            Cause::Interrupted { signal, .. } => format!("{module}: interrupted by {signal}"),
            Cause::LoadTimedOut { timeout, .. } => {
                format!("{module}: still loading after {timeout}")
            }
            Cause::InitOutlasted { limit, .. } => {
                format!(
                    "{module}: still initialising after {}",
                    format_duration(limit.after)
                )
            }
            Cause::LoadedNotReady {
                initialising: Some(initialising),
                ..
            } if initialising == module => format!("{module}: loaded, still initialising"),
            Cause::LoadedNotReady {
                initialising: Some(initialising),
                ..
            } => format!("{module}: loaded, {initialising} still initialising"),
            Cause::LoadedNotReady {
                missing,
                initialising: None,
            } => format!("{module}: loaded, but {missing} is missing"),
            Cause::Blacklisted { .. } => format!("{module}: blacklisted, not loaded"),
            Cause::NotLoaded {
                nothing_loads_it: true,
            } => format!("{module}: not loaded, and nothing loads it before kubelite"),
            Cause::NotLoaded {
                nothing_loads_it: false,
            } => format!("{module}: not loaded"),
            Cause::KubeliteCommandRejected { .. } => {
                format!("{module}: kubelite cannot start: its kmod-ready would exit 64")
            }
            Cause::KubeliteCommandUnrunnable { .. } => {
                format!("{module}: kubelite cannot start: an ExecStartPre= cannot run")
            }
            Cause::WaitForNeverAppears { .. } => {
                format!("{module}: kubelite cannot start: its kmod-ready would time out")
            }
            Cause::ConfigNotRegular { file } => {
                format!("{module}: libkmod would block on modprobe.d's {file}")
            }
            Cause::DropInMasked { .. } => {
                format!("{module}: not loaded; kmod-ready's drop-in is masked")
            }
            Cause::IndexNotRegular { file, .. } => {
                format!("{module}: libkmod would block on the module index {file}")
            }
            Cause::NextKernelUnknown { .. } => {
                format!("{module}: which kernel boots next cannot be told")
            }
            Cause::NextKernelWithoutModules { release } => {
                format!("{module}: next kernel {release} has no /lib/modules")
            }
            // The dependency by name: its file's whole path would be cut.
            Cause::NextDependencyMissing { file, .. } => {
                let dependency = module_name_of(file);
                format!("{module}: needs {dependency}, whose file is missing")
            }
            Cause::NothingLoadsAtBoot => {
                format!("{module}: nothing will load it before kubelite at boot")
            }
            Cause::KubeliteDisabled => {
                format!("{module}: kubelite is not enabled, so it will not start at boot")
            }
            Cause::KubeProxy(cause) => cause.short(module),
            Cause::KubeliteOverrideReset { .. } => {
                format!("{module}: not loaded; an override stops kmod-ready before kubelite")
            }
        }
    }
}
