use super::*;

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn kubelite_splits_lines_at_spaces_and_drops_quotes() {
    let text = "--kubeconfig=${SNAP_DATA}/credentials/proxy.config\n  # a comment\n\n\
                --proxy-mode ipvs --v=2\n--config \"$SNAP_DATA/args/kp.yaml\"\n--x=$UNSET.$";
    assert_eq!(
        kubelite_arguments(text).unwrap(),
        words(&[
            "--kubeconfig=/var/snap/microk8s/current/credentials/proxy.config",
            "--proxy-mode",
            "ipvs",
            "--v=2",
            "--config",
            "/var/snap/microk8s/current/args/kp.yaml",
            "--x=.$",
        ])
    );
    let long = format!("--v={}", "9".repeat(LONGEST_LINE));
    assert!(kubelite_arguments(&long).is_err());
}

#[test]
fn the_last_flag_wins_and_a_flag_takes_the_next_word() {
    let flags = Flags::parse(&words(&[
        "--proxy-mode=ipvs",
        "--proxy-mode",
        "nftables",
        "--feature-gates=NFTablesProxyMode=true",
        "--",
        "--config=x",
    ]));
    assert_eq!(flags.mode.as_deref(), Some("nftables"));
    assert_eq!(flags.config, None);
    assert_eq!(flag_gate(&flags.gates[0], NFTABLES_GATE), Some(true));
    assert_eq!(
        Flags::parse(&words(&["--v=2", "--proxy-mode"])).without_value,
        Some("proxy-mode")
    );
}

#[test]
fn modes_by_version() {
    assert_eq!(validate("", Some(29), None), Ok(ProxyMode::Iptables));
    assert!(validate("nftables", Some(28), None).is_err());
    assert!(validate("nftables", Some(30), None).is_err());
    assert_eq!(
        validate("nftables", Some(30), Some(true)),
        Ok(ProxyMode::Nftables)
    );
    assert_eq!(
        validate("nftables", Some(31), None),
        Ok(ProxyMode::Nftables)
    );
    assert!(validate("nftables", Some(31), Some(false)).is_err());
    assert!(validate("userspace", Some(29), None).is_err());
    assert!(validate("IPVS", Some(29), None).is_err());
}

#[test]
fn yaml_values() {
    let yaml = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nmode: \"nftables\" # fast\n\
                featureGates:\n  Other: false\n  NFTablesProxyMode: true\nconntrack:\n  maxPerCore: 0\n";
    assert_eq!(top_level_value(yaml, "mode").as_deref(), Some("nftables"));
    assert_eq!(config_gate(yaml, NFTABLES_GATE), Some(true));
    assert_eq!(config_gate("mode: ipvs\n", NFTABLES_GATE), None);
}
