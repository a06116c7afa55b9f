use super::*;

const MODULE: &str = "krtest_mod";

/// Every variant, with the status kmod-ready exits with, and whether it is
/// the kernel refusing an insertion.
#[rustfmt::skip]
fn every_cause() -> Vec<(Cause, u8, bool)> {
    use Cause::*;
    let text = |s: &str| s.to_string();
    let causes = vec![
        (ModuleDirMissing { release: text("6.1.0-old"), installed: vec![] }, 69, false),
        (ModuleDirMissing { release: text("6.1.0-old"), installed: vec![text("6.1.0-test")] }, 69, false),
        (NotFound { module_dir: text("/lib/modules/6.1.0-test"), release: text("6.1.0-test") }, 69, false),
        (Container { kind: text("lxc") }, 77, true),
        (LibkmodMissing { error: text("not found") }, 69, false),
        (ContextFailed, 69, false),
        (LookupFailed { errno: Errno::ENOMEM }, 78, false),
        (BlacklistedAlias { target: text("krtest_target") }, 78, false),
        (DeniedOnCommandLine { denied: text(MODULE) }, 77, true),
        (NoCapSysModule, 77, true),
        (ModulesDisabled, 77, true),
        (Lockdown { mode: text("integrity") }, 77, true),
        (KernelRefused, 77, true),
        (SignatureRejected, 77, true),
        (NoModuleSupport { release: text("6.1.0-test") }, 69, true),
        (BadFormat { release: text("6.1.0-test") }, 69, true),
        (UnknownSymbol { failed: text(MODULE) }, 69, true),
        (InstallLineFailed { failed: text(MODULE) }, 78, true),
        (InsertFailed, 69, true),
        (TimedOut { timeout: text("10 s"), missing: text("/sys/module/krtest_mod") }, 75, false),
        (WaitForMissing { timeout: text("10 s"), missing: text("/proc/sys/net/x") }, 75, false),
        (LoadTimedOut { timeout: text("1 s"), step: LoadStep::Reading }, 75, false),
        (LoadTimedOut { timeout: text("1 s"), step: LoadStep::Install { module: text(MODULE) } }, 75, false),
        (InitOutlasted { module: text("krtest_dep"), limit: crate::patience::limit(std::time::Instant::now(), std::time::Duration::from_secs(10)) }, 75, false),
        (Check(Finding::KubeliteCommandRejected { command: text("kmod-ready --timeout 2h x"), reason: text("too long") }), 64, false),
        (ConfigNotRegular { file: text("/etc/modprobe.d/x.conf (a FIFO)") }, 78, false),
        (Check(Finding::KubeliteCommandUnrunnable { command: text("/x/kmod-ready krtest_mod"), reason: text("/x/kmod-ready does not exist") }), 69, false),
        (Check(Finding::WaitForNeverAppears { command: text("kmod-ready --wait-for /sys/x krtest_mod"), path: text("/sys/x") }), 75, false),
        (KernelWithoutModules { release: text("6.1.0-test"), option: Some(text("CONFIG_X")) }, 69, false),
        (KernelWithoutModules { release: text("6.1.0-test"), option: None }, 69, false),
        (Interrupted { signal: text("SIGTERM"), missing: text("/sys/module/krtest_mod") }, 75, false),
        (Check(Finding::LoadedNotReady { missing: text("/sys/module/krtest_mod"), initialising: Some(text(MODULE)) }), 75, false),
        (Check(Finding::LoadedNotReady { missing: text("/proc/sys/net/krtest"), initialising: Some(text("krtest_dep")) }), 75, false),
        (Check(Finding::LoadedNotReady { missing: text("/sys/module/krtest_mod"), initialising: None }), 75, false),
        (Check(Finding::Blacklisted { at: text("/etc/modprobe.d/x.conf:1"), resolved: None }), 78, false),
        (Check(Finding::Blacklisted { at: text("modprobe.d"), resolved: Some(text("krtest_target")) }), 78, false),
        (Check(Finding::NotLoaded { nothing_loads_it: true }), 69, false),
        (Check(Finding::NotLoaded { nothing_loads_it: false }), 69, false),
        (Check(Finding::KubeliteOverrideReset { file: "/etc/x.conf".into(), unit: text("k.service") }), 78, false),
        (Check(Finding::DropInMasked { file: "/etc/x.d/50-kmod-ready.conf".into() }), 78, false),
        (Check(Finding::NextKernelUnknown { why: text("no entry matches \"9\"") }), 69, false),
        (Check(Finding::NextKernelWithoutModules { release: text("6.1.0-next") }), 69, false),
        (Check(Finding::NextDependencyMissing { file: text("/lib/modules/6.1.0-next/krtest_dep.ko"), release: text("6.1.0-next") }), 69, false),
        (Check(Finding::NothingLoadsAtBoot), 78, false),
        (Check(Finding::KubeProxy(KubeProxyCause::NoIptables { nftables_blocked: None, feature_gate: true })), 69, false),
        (Check(Finding::KubeProxy(KubeProxyCause::NoIptables { nftables_blocked: Some(text("no nft")), feature_gate: false })), 69, false),
        (Check(Finding::KubeProxy(KubeProxyCause::ModuleNotLoaded { mode: text("ipvs"), loadable: true })), 69, false),
        (Check(Finding::KubeProxy(KubeProxyCause::ModuleNotLoaded { mode: text("ipvs"), loadable: false })), 69, false),
        (Check(Finding::KubeProxy(KubeProxyCause::ModuleMissing { mode: text("nftables") })), 69, false),
        (Check(Finding::KubeProxy(KubeProxyCause::ProgramMissing { mode: text("ipvs") })), 69, false),
        (Check(Finding::KubeProxy(KubeProxyCause::NftablesKernelTooOld { release: text("5.10.0-30-amd64") })), 69, false),
        (Check(Finding::KubeProxy(KubeProxyCause::NftTooOld { why: text("/usr/sbin/nft is version 0.9.8") })), 69, false),
        (Check(Finding::KubeliteDisabled), 78, false),
        (Check(Finding::KubeProxy(KubeProxyCause::ModeRefused { refusal: crate::microk8s::Refusal::Userspace, from: text("--proxy-mode in /x") })), 69, false),
        (Check(Finding::KubeProxy(KubeProxyCause::ModeUnknown { why: text("/x: larger than 1024 KiB; not read") })), 69, false),
        (IndexNotRegular { file: text("/lib/modules/6.1.0-test/modules.dep.bin (a FIFO)"), release: text("6.1.0-test") }, 78, false),
        (InstallDidNotLoad { module: text(MODULE), install: Box::new(InstallLine { file: "/etc/modprobe.d/x.conf".into(), line: 1, command: text("/bin/true") }) }, 78, false),
        (Check(Finding::DisabledByInstallLine { at: text("/etc/modprobe.d/x.conf:1"), command: text("/bin/true") }), 78, false),
    ];
    for (cause, _, _) in &causes {
        listed(cause);
    }
    causes
}

/// Does not compile when a variant is added and `every_cause` lacks it.
fn listed(cause: &Cause) {
    use Cause::*;
    match cause {
        ModuleDirMissing { .. } | NotFound { .. } | Container { .. } | LibkmodMissing { .. } => {}
        ContextFailed | LookupFailed { .. } | BlacklistedAlias { .. } => {}
        DeniedOnCommandLine { .. } | NoCapSysModule | ModulesDisabled | Lockdown { .. } => {}
        KernelRefused | SignatureRejected | NoModuleSupport { .. } | BadFormat { .. } => {}
        UnknownSymbol { .. } | InstallLineFailed { .. } | InsertFailed => {}
        TimedOut { .. } | Interrupted { .. } | WaitForMissing { .. } | InitOutlasted { .. } => {}
        LoadTimedOut { .. } | ConfigNotRegular { .. } | IndexNotRegular { .. } => {}
        InstallDidNotLoad { .. } | KernelWithoutModules { .. } => {}
        Check(finding) => listed_finding(finding),
    }
}

/// The same for what only `check` finds.
fn listed_finding(finding: &Finding) {
    use Finding::*;
    match finding {
        LoadedNotReady { .. } | Blacklisted { .. } | NotLoaded { .. } => {}
        KubeliteOverrideReset { .. } | KubeliteCommandRejected { .. } => {}
        KubeliteCommandUnrunnable { .. } | WaitForNeverAppears { .. } | DropInMasked { .. } => {}
        DisabledByInstallLine { .. } | NextKernelUnknown { .. } => {}
        NextKernelWithoutModules { .. } | NextDependencyMissing { .. } => {}
        NothingLoadsAtBoot | KubeliteDisabled => {}
        KubeProxy(cause) => listed_kube_proxy(cause),
    }
}

/// The same for kube-proxy's causes.
fn listed_kube_proxy(cause: &KubeProxyCause) {
    use KubeProxyCause::*;
    match cause {
        NoIptables { .. } | ModuleNotLoaded { .. } | ModuleMissing { .. } => {}
        ProgramMissing { .. } | NftTooOld { .. } | NftablesKernelTooOld { .. } => {}
        ModeRefused { .. } | ModeUnknown { .. } => {}
    }
}

#[test]
fn every_cause_has_its_status_a_fix_and_names_the_module() {
    for (cause, status, refusal) in every_cause() {
        let failure = if refusal {
            Failure::refused(MODULE, cause.clone(), MODULE, Errno::EPERM)
        } else {
            Failure::new(MODULE, cause.clone())
        };
        assert_eq!(failure.status().code(), status, "{cause:?}");
        assert!(!failure.fix().is_empty(), "{cause:?}: no fix");
        assert!(!failure.summary().is_empty(), "{cause:?}: no summary");
        let line = failure.detail().unwrap_or_else(|| failure.summary());
        assert!(
            line.contains(MODULE),
            "{cause:?}: {line:?} does not name {MODULE}"
        );
        assert!(!line.contains('\n'), "{cause:?}: {line:?} is not one line");
    }
}

#[test]
fn a_refused_dependency_is_named_as_such() {
    let cause = Cause::BadFormat {
        release: "6.1.0-test".into(),
    };
    let own = Failure::refused("krtest_main", cause.clone(), "krtest_main", Errno::ENOEXEC);
    let dependency = Failure::refused("krtest_main", cause, "krtest_dep", Errno::ENOEXEC);
    assert!(own
        .detail()
        .unwrap()
        .starts_with("krtest_main: loading failed (ENOEXEC"));
    assert!(dependency
        .detail()
        .unwrap()
        .starts_with("krtest_main: loading its dependency krtest_dep failed (ENOEXEC"));
}
