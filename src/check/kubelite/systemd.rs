//! Asking systemd: `systemctl show`, `busctl` and `journalctl`, run
//! read-only through [`crate::process`].

use std::path::PathBuf;

use super::{ExecCommand, PROXY_ERROR, UNIT};
use crate::process::{run_bounded, unit_object_path};

/// The properties we ask `systemctl show` for.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Show {
    pub load_state: Option<String>,
    pub fragment_path: Option<PathBuf>,
    pub drop_in_paths: Vec<PathBuf>,
    pub exec_start_pre: Vec<ExecCommand>,
    pub active_state: Option<String>,
    pub n_restarts: Option<u64>,
}

/// Parses `systemctl show -p …` output: `Key=value` lines; `ExecStartPreEx`
/// values look like `{ path=/usr/sbin/kmod-ready ; argv[]=/usr/sbin/kmod-ready
/// nf_conntrack ; flags=ignore-failure ; … }`, one per command (on one line or
/// several). systemctl joins the arguments with spaces, unquoted, so an
/// argument that holds a space is read as two.
pub(crate) fn parse_show(text: &str) -> Show {
    let mut show = Show::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let some = || Some(value.to_string()).filter(|v| !v.is_empty());
        match key {
            "LoadState" => show.load_state = some(),
            "FragmentPath" => show.fragment_path = some().map(PathBuf::from),
            "ActiveState" => show.active_state = some(),
            "NRestarts" => show.n_restarts = value.parse().ok(),
            "DropInPaths" => {
                show.drop_in_paths = value.split_whitespace().map(PathBuf::from).collect()
            }
            "ExecStartPreEx" | "ExecStartPre" => {
                for entry in value.split("{ path=").skip(1) {
                    if let Some(command) = shown_command(entry) {
                        show.exec_start_pre.push(command);
                    }
                }
            }
            _ => {}
        }
    }
    show
}

/// One command of `systemctl show`, from after its `{ path=`.
fn shown_command(entry: &str) -> Option<ExecCommand> {
    let (path, rest) = entry.split_once(" ; argv[]=")?;
    let (argv, rest) = rest.split_once(" ; ")?;
    let field = |name: &str| {
        rest.split(" ; ")
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_default()
    };
    let mut flags: Vec<&str> = field("flags=").split(' ').collect();
    if field("ignore_errors=") == "yes" {
        flags.push("ignore-failure");
    }
    let argv: Vec<String> = argv.split(' ').map(str::to_string).collect();
    Some(command_from(path, argv, &flags))
}

/// A command as systemd holds it: its executable, arguments and flags.
fn command_from(path: &str, argv: Vec<String>, flags: &[&str]) -> ExecCommand {
    let ignore_failure = flags.contains(&"ignore-failure");
    let no_env_expand = flags.contains(&"no-env-expand");
    let mut text = String::new();
    text.push_str(if ignore_failure { "-" } else { "" });
    text.push_str(if no_env_expand { ":" } else { "" });
    if argv.first().map(String::as_str) != Some(path) {
        text.push('@');
        text.push_str(path);
        text.push(' ');
    }
    text.push_str(&argv.join(" "));
    ExecCommand {
        text,
        ignore_failure,
        no_env_expand,
        path: path.to_string(),
        argv,
    }
}

/// The unit's `ExecStartPre=` commands from systemd's D-Bus property, where
/// each argument is a string of its own (`systemctl show` joins them with
/// spaces): `busctl --json=short get-property … ExecStartPreEx`.
pub(super) fn exec_start_pre_exact() -> Result<Vec<ExecCommand>, String> {
    let object = unit_object_path(UNIT);
    let (text, _) = run_bounded(
        "busctl",
        &[
            "--json=short",
            "get-property",
            "org.freedesktop.systemd1",
            &object,
            "org.freedesktop.systemd1.Service",
            "ExecStartPreEx",
        ],
    )?;
    parse_busctl(&text).ok_or_else(|| "busctl printed something else than ExecStartPreEx".into())
}

/// `{"type":"a(sasasttttuii)","data":[["PATH",["ARGV0",…],["FLAG",…],…],…]}`.
fn parse_busctl(text: &str) -> Option<Vec<ExecCommand>> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let strings = |v: &serde_json::Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    value["data"]
        .as_array()?
        .iter()
        .map(|entry| {
            let path = entry.get(0)?.as_str()?;
            let argv = strings(entry.get(1)?)?;
            let flags = strings(entry.get(2)?)?;
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            Some(command_from(path, argv, &flags))
        })
        .collect()
}

/// The last journal line of the unit that has "Error running ProxyServer",
/// with its timestamp; `Ok(None)` when there is none.
pub(super) fn last_proxy_error() -> Result<Option<String>, String> {
    let base = ["-u", UNIT, "-o", "short-iso", "--no-pager"];
    let grep = run_bounded(
        "journalctl",
        &[&base[..], &["-n", "1", "--grep", PROXY_ERROR]].concat(),
    );
    let (stdout, stderr) = match grep {
        Ok(output) => output,
        // journalctl built without PCRE2 cannot --grep: search ourselves.
        Err(reason) if reason.contains("pattern") || reason.contains("PCRE") => {
            run_bounded("journalctl", &[&base[..], &["-n", "2000"]].concat())?
        }
        // --grep may exit 1 when nothing matches.
        Err(reason) if reason.starts_with("exit status 1:") && !reason.contains("ermission") => {
            Default::default()
        }
        Err(reason) => return Err(reason),
    };
    // Without root (or the adm or systemd-journal group) journalctl shows
    // only the user's own journal and says so on stderr.
    if stderr.contains("not seeing messages") || stderr.contains("ermission") {
        return Err("needs root (or the adm or systemd-journal group)".to_string());
    }
    Ok(stdout
        .lines()
        .rfind(|l| l.contains(PROXY_ERROR))
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemctl_show_output() {
        let text = "LoadState=loaded\n\
            FragmentPath=/etc/systemd/system/snap.microk8s.daemon-kubelite.service\n\
            DropInPaths=/usr/lib/systemd/system/snap.microk8s.daemon-kubelite.service.d/50-kmod-ready.conf /etc/systemd/system/snap.microk8s.daemon-kubelite.service.d/override.conf\n\
            ExecStartPre={ path=/usr/sbin/kmod-ready ; argv[]=/usr/sbin/kmod-ready nf_conntrack ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n\
            ExecStartPre={ path=/bin/true ; argv[]=/bin/true x ; ignore_errors=yes ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n\
            ActiveState=activating\n\
            NRestarts=4\n";
        let show = parse_show(text);
        assert_eq!(show.load_state.as_deref(), Some("loaded"));
        assert_eq!(show.drop_in_paths.len(), 2);
        let texts: Vec<&str> = show
            .exec_start_pre
            .iter()
            .map(|c| c.text.as_str())
            .collect();
        assert_eq!(texts, ["/usr/sbin/kmod-ready nf_conntrack", "-/bin/true x"]);
        let ex = parse_show(
            "ExecStartPreEx={ path=/usr/sbin/kmod-ready ; argv[]=kr $M ; flags=ignore-failure no-env-expand ; start_time=[n/a] ; pid=0 }\n",
        );
        let command = &ex.exec_start_pre[0];
        assert_eq!(command.text, "-:@/usr/sbin/kmod-ready kr $M");
        assert_eq!(command.path, "/usr/sbin/kmod-ready");
        assert_eq!(command.argv, ["kr", "$M"]);
        assert!(command.ignore_failure && command.no_env_expand);
        let exact = parse_busctl(
            r#"{"type":"a(sasasttttuii)","data":[["/bin/x",["x0","a b"],["no-env-expand"],0,0,0,0,0,0,0]]}"#,
        )
        .unwrap();
        assert_eq!(exact[0].argv, ["x0", "a b"]);
        assert_eq!(exact[0].text, ":@/bin/x x0 a b");
        assert_eq!(show.active_state.as_deref(), Some("activating"));
        assert_eq!(show.n_restarts, Some(4));
        let missing = parse_show("LoadState=not-found\nFragmentPath=\nDropInPaths=\nNRestarts=0\n");
        assert_eq!(missing.fragment_path, None);
        assert!(missing.drop_in_paths.is_empty());
    }
}
