//! Running a program bounded in time and output: `systemctl`, `busctl`,
//! `journalctl`, `nft`, without a shell, its stdin closed, killed if it
//! takes longer than its limit. Shared by check and by the boot path's
//! question to systemd (patience.rs).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest check waits for one of the programs it asks.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// systemd's D-Bus object path of `unit`: every byte of its name but a
/// letter or a digit as `_` and two hex digits.
pub(crate) fn unit_object_path(unit: &str) -> String {
    let label: String = unit
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("_{b:02x}")
            }
        })
        .collect();
    format!("/org/freedesktop/systemd1/unit/{label}")
}

/// Runs `program` (a path, or a name found on PATH) with `args`, without a shell, its stdin
/// closed, killed after [`COMMAND_TIMEOUT`]. Returns its stdout and stderr
/// when it succeeds, else a one-line reason.
pub(crate) fn run_bounded(program: &str, args: &[&str]) -> Result<(String, String), String> {
    run_within(COMMAND_TIMEOUT, program, args)
}

pub(crate) fn run_within(
    timeout: Duration,
    program: &str,
    args: &[&str],
) -> Result<(String, String), String> {
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .env("SYSTEMD_PAGER", "")
        .env("SYSTEMD_COLORS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot run {program}: {err}"))?;
    // Read both pipes while waiting, so a full pipe cannot stall the child.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(1 << 20).read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} did not answer within {} ms",
                    timeout.as_millis()
                ));
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if status.success() {
        Ok((stdout, stderr))
    } else {
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        Err(format!(
            "exit status {}: {first}",
            status.code().unwrap_or(-1)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_bounded() {
        let second = Duration::from_secs(1);
        let (out, _) = run_within(second, "echo", &["a", "b"]).unwrap();
        assert_eq!(out, "a b\n");
        let err = run_within(second, "sh", &["-c", "echo why >&2; exit 3"]).unwrap_err();
        assert_eq!(err, "exit status 3: why");
        let start = Instant::now();
        let err = run_within(Duration::from_millis(100), "sleep", &["10"]).unwrap_err();
        assert!(err.contains("did not answer"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(run_within(second, "/nonexistent/systemctl", &[]).is_err());
    }

    #[test]
    fn object_paths_escape_the_unit_name() {
        assert_eq!(
            unit_object_path("snap.microk8s.daemon-kubelite.service"),
            "/org/freedesktop/systemd1/unit/snap_2emicrok8s_2edaemon_2dkubelite_2eservice"
        );
    }
}
