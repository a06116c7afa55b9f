use super::menu::selector_steps;
use super::*;

const CONFIG: &str = r#"
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
   set next_entry=
   save_env next_entry
else
   set default="0"
fi
function load_video {
  insmod all_video
}
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-x' {
	load_video
	linux	/boot/vmlinuz-6.1.0-50-amd64 root=UUID=x ro  quiet
}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-x' {
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-50-amd64' $menuentry_id_option 'gnulinux-6.1.0-50-amd64-advanced-x' {
		linux	/boot/vmlinuz-6.1.0-50-amd64 root=UUID=x ro  quiet
	}
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-47-amd64' $menuentry_id_option 'gnulinux-6.1.0-47-amd64-advanced-x' {
		linux	/boot/vmlinuz-6.1.0-47-amd64 root=UUID=x ro  quiet $extra
	}
}
"#;

#[test]
fn entries_by_index_title_id_and_path() {
    let menu = menu(CONFIG);
    assert_eq!(menu.len(), 2);
    let image = |selector: &str| {
        select(&menu, selector)
            .and_then(|(e, _)| e.linux.clone())
            .map(|l| l.0)
    };
    assert_eq!(image("0").as_deref(), Some("/boot/vmlinuz-6.1.0-50-amd64"));
    assert_eq!(
        image("1>1").as_deref(),
        Some("/boot/vmlinuz-6.1.0-47-amd64")
    );
    assert_eq!(
        image("gnulinux-advanced-x>gnulinux-6.1.0-47-amd64-advanced-x").as_deref(),
        Some("/boot/vmlinuz-6.1.0-47-amd64")
    );
    assert_eq!(
        image("Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-47-amd64")
            .as_deref(),
        Some("/boot/vmlinuz-6.1.0-47-amd64")
    );
    assert_eq!(image("1").as_deref(), Some("/boot/vmlinuz-6.1.0-50-amd64"));
    // Nothing named: the first entry of the level.
    assert_eq!(image("7").as_deref(), Some("/boot/vmlinuz-6.1.0-50-amd64"));
    assert_eq!(
        image("1>9").as_deref(),
        Some("/boot/vmlinuz-6.1.0-50-amd64")
    );
    assert!(select(&menu, "1>9").unwrap().1 && !select(&menu, "1>1").unwrap().1);
    assert_eq!(selector_steps("a>>b>c"), ["a>b", "c"]);
}

#[test]
fn next_entry_before_default() {
    let env: BTreeMap<String, String> = [("next_entry".to_string(), "1>1".to_string())].into();
    let (selector, from) = default_entry(CONFIG, &env, Path::new("/e"), Path::new("/c"));
    assert_eq!(
        (selector.as_str(), from.as_str()),
        ("1>1", "next_entry in /e (one boot only)")
    );
    let (selector, _) = default_entry(CONFIG, &BTreeMap::new(), Path::new("/e"), Path::new("/c"));
    assert_eq!(selector, "0");
    let saved = CONFIG.replace("set default=\"0\"", "set default=\"${saved_entry}\"");
    let env: BTreeMap<String, String> = [("saved_entry".to_string(), "1>1".to_string())].into();
    assert_eq!(
        default_entry(&saved, &env, Path::new("/e"), Path::new("/c")).0,
        "1>1"
    );
}

#[test]
fn quoting_and_expansion() {
    assert_eq!(
        line_words(r#"menuentry 'Debian'\''s "x"' "a \"b\" \$c" d\ e # comment"#),
        ["menuentry", "Debian's \"x\"", "a \"b\" $c", "d e"]
    );
    let env: BTreeMap<String, String> = [("extra".to_string(), "a=1 b".to_string())].into();
    let words: Vec<String> = ["ro", "$extra", "${unset}", "quiet"]
        .map(String::from)
        .to_vec();
    assert_eq!(expand(&words, &env), ["ro", "a=1", "b", "quiet"]);
}
