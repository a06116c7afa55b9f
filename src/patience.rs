//! How long kmod-ready waits past `--timeout` while the kernel is still
//! initialising a module. On a busy machine a module's init can take many
//! seconds and then succeed; giving up at `--timeout` would only make
//! systemd restart kubelite. So while the kernel is visibly at work (a
//! module's `initstate` says `coming`, or our own insertion is still inside
//! the kernel), the wait goes on, up to a limit just before the start
//! timeout of the unit that runs kmod-ready (there systemd stops the unit,
//! and kmod-ready could no longer say why), or [`DEFAULT_LIMIT`] when
//! systemd does not say. A path that never appears while nothing is
//! initialising still fails at `--timeout`.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::cli::{format_duration, MAX_TIMEOUT};
use crate::input;
use crate::process::{run_within, unit_object_path};
use crate::readiness::initialising;
use crate::system::Root;

/// The limit when systemd gives none: below systemd's default start
/// timeout (90 s), so that the unit's own timeout does not end us first.
pub(crate) const DEFAULT_LIMIT: Duration = Duration::from_secs(60);
/// Kept before the unit's start timeout, to log why we give up.
pub(crate) const MARGIN: Duration = Duration::from_secs(5);
/// How often the wait past `--timeout` looks whether a module is still
/// initialising (a look reads every /sys/module/*/initstate).
const LOOK_INTERVAL: Duration = Duration::from_secs(1);
/// Looks in a row that find nothing initialising before we give up: a
/// modprobe moving from one dependency to the next has none for a moment.
const IDLE_LOOKS: u8 = 2;
/// How long we ask systemd for the unit's start timeout: the machine is
/// busy when this is asked.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest wait, counted from kmod-ready's start.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Limit {
    pub deadline: Instant,
    /// The same, as a duration from the start: never below `--timeout`.
    pub after: Duration,
    /// Where the figure comes from, for the log lines.
    pub source: String,
}

static LIMIT: OnceLock<Limit> = OnceLock::new();

/// The limit of this run, asked of systemd once (by the watchdog or by the
/// wait, whichever needs it first).
pub(crate) fn limit(start: Instant, timeout: Duration) -> &'static Limit {
    LIMIT.get_or_init(|| Limit::from(start, timeout, unit_start_timeout()))
}

impl Limit {
    fn from(start: Instant, timeout: Duration, unit: Result<UnitTimeout, String>) -> Limit {
        let (limit, source) = match unit {
            Ok(UnitTimeout {
                unit,
                start_timeout: Some(start_timeout),
            }) => (
                start_timeout.saturating_sub(MARGIN),
                format!(
                    "the start timeout of {unit}, {}, less {}",
                    format_duration(start_timeout),
                    format_duration(MARGIN)
                ),
            ),
            Ok(UnitTimeout {
                unit,
                start_timeout: None,
            }) => (
                DEFAULT_LIMIT,
                format!("{unit} has no start timeout; the default"),
            ),
            Err(why) => (DEFAULT_LIMIT, format!("the default: {why}")),
        };
        let after = limit.clamp(timeout, MAX_TIMEOUT.max(timeout));
        Limit {
            deadline: start + after,
            after,
            source,
        }
    }

    /// The line logged when the wait goes on past `--timeout`: `names` are
    /// the modules asked for, `coming` the one the kernel is initialising.
    pub fn waiting_line(&self, names: &[String], coming: &str, timeout: Duration) -> String {
        let names = names.join(", ");
        let what = if names == coming { "it" } else { coming };
        format!(
            "{names}: the kernel is still initialising {what} after {}; waiting up to {} ({})",
            format_duration(timeout),
            format_duration(self.after),
            self.source
        )
    }
}

/// Whether the kernel is still initialising a module, looked at once a
/// [`LOOK_INTERVAL`] during the wait past `--timeout`.
pub(crate) struct InitWatch<'a> {
    root: &'a Root,
    /// The module seen initialising last.
    pub coming: String,
    looked: Instant,
    idle_looks: u8,
}

impl InitWatch<'_> {
    /// Watches from now, if a module is initialising.
    pub fn start(root: &Root) -> Option<InitWatch<'_>> {
        let coming = initialising(root)?;
        Some(InitWatch {
            root,
            coming,
            looked: Instant::now(),
            idle_looks: 0,
        })
    }

    /// False once [`IDLE_LOOKS`] looks in a row found nothing initialising.
    pub fn worth_waiting(&mut self) -> bool {
        if self.looked.elapsed() < LOOK_INTERVAL {
            return true;
        }
        self.looked = Instant::now();
        match initialising(self.root) {
            Some(coming) => {
                self.coming = coming;
                self.idle_looks = 0;
            }
            None => self.idle_looks += 1,
        }
        self.idle_looks < IDLE_LOOKS
    }
}

/// The unit that runs us, and its `TimeoutStartUSec` (`None`: infinite).
#[derive(Debug)]
struct UnitTimeout {
    unit: String,
    start_timeout: Option<Duration>,
}

/// Asks systemd for the start timeout of the service whose cgroup we are
/// in; the reason when we are not run by systemd or it cannot say.
fn unit_start_timeout() -> Result<UnitTimeout, String> {
    // systemd sets it for every process it starts for a unit.
    if std::env::var_os("INVOCATION_ID").is_none() {
        return Err("not started by systemd".into());
    }
    let path = Path::new("/proc/self/cgroup");
    let cgroup = input::read(path, path, input::SMALL)
        .map_err(|unread| unread.to_string())?
        .unwrap_or_default();
    let unit = service_of_cgroup(&String::from_utf8_lossy(&cgroup))
        .ok_or("/proc/self/cgroup names no service")?;
    let (answer, _) = run_within(
        QUERY_TIMEOUT,
        "busctl",
        &[
            "get-property",
            "org.freedesktop.systemd1",
            &unit_object_path(&unit),
            "org.freedesktop.systemd1.Service",
            "TimeoutStartUSec",
        ],
    )
    .map_err(|why| format!("busctl: {why}"))?;
    let usec = parse_usec(&answer).ok_or_else(|| format!("busctl said {:?}", answer.trim()))?;
    // systemd takes 0 and infinity alike as "no timeout".
    let start_timeout = (usec != 0 && usec != u64::MAX).then(|| Duration::from_micros(usec));
    Ok(UnitTimeout {
        unit,
        start_timeout,
    })
}

/// The service in systemd's hierarchy of /proc/self/cgroup: the unified
/// one (`0::`) or, on cgroup v1, `name=systemd`; its last `.service` part.
fn service_of_cgroup(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        if !(controllers.is_empty() || controllers == "name=systemd") {
            return None;
        }
        path.rsplit('/')
            .find(|part| part.ends_with(".service"))
            .map(str::to_string)
    })
}

/// `busctl get-property`'s answer for a `t` property: `t 90000000`.
fn parse_usec(answer: &str) -> Option<u64> {
    answer.trim().strip_prefix("t ")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: &str = "snap.microk8s.daemon-kubelite.service";

    #[test]
    fn the_service_is_read_from_systemds_hierarchy() {
        let v2 = "0::/system.slice/snap.microk8s.daemon-kubelite.service\n";
        assert_eq!(service_of_cgroup(v2).as_deref(), Some(UNIT));
        let v1 = "12:memory:/system.slice/other.service\n\
                  1:name=systemd:/system.slice/snap.microk8s.daemon-kubelite.service\n";
        assert_eq!(service_of_cgroup(v1).as_deref(), Some(UNIT));
        let delegated = "0::/system.slice/a.service/payload\n";
        assert_eq!(service_of_cgroup(delegated).as_deref(), Some("a.service"));
        assert_eq!(service_of_cgroup("0::/user.slice/session-3.scope\n"), None);
    }

    #[test]
    fn busctl_answers() {
        assert_eq!(parse_usec("t 90000000\n"), Some(90_000_000));
        assert_eq!(parse_usec("s \"x\""), None);
    }

    #[test]
    fn the_limit_stays_below_the_units_start_timeout() {
        let start = Instant::now();
        let ten = Duration::from_secs(10);
        let unit = |start_timeout| {
            Ok(UnitTimeout {
                unit: UNIT.into(),
                start_timeout,
            })
        };
        let limit = Limit::from(start, ten, unit(Some(Duration::from_secs(90))));
        assert_eq!(limit.after, Duration::from_secs(85));
        assert_eq!(limit.deadline, start + Duration::from_secs(85));
        assert_eq!(
            limit.source,
            format!("the start timeout of {UNIT}, 90 s, less 5 s")
        );
        // Never below --timeout, never past its own maximum.
        let short = Limit::from(start, ten, unit(Some(Duration::from_secs(8))));
        assert_eq!(short.after, ten);
        let long = Limit::from(start, ten, unit(Some(Duration::from_secs(7200))));
        assert_eq!(long.after, MAX_TIMEOUT);
        let infinite = Limit::from(start, ten, unit(None));
        assert_eq!(infinite.after, DEFAULT_LIMIT);
        assert_eq!(
            infinite.source,
            format!("{UNIT} has no start timeout; the default")
        );
        let outside = Limit::from(start, ten, Err("not started by systemd".into()));
        assert_eq!(outside.source, "the default: not started by systemd");
        assert_eq!(
            outside.waiting_line(&["nf_conntrack".into()], "nf_conntrack", ten),
            "nf_conntrack: the kernel is still initialising it after 10 s; waiting up to 60 s \
             (the default: not started by systemd)"
        );
        assert_eq!(
            outside.waiting_line(&["br_netfilter".into()], "bridge", ten),
            "br_netfilter: the kernel is still initialising bridge after 10 s; waiting up to \
             60 s (the default: not started by systemd)"
        );
    }
}
