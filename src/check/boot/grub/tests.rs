use super::menu::{selector_steps, Unselected};
use super::*;

const CONFIG: &str = r#"
if [ x"${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi
export menuentry_id_option
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
            .ok()
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
    assert_eq!(select(&[], "0").err(), Some(Unselected::NoEntry));
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

/// grub.cfg's entries after `header`: one at the top, one in a submenu.
fn with_header(header: &str) -> String {
    format!(
        "{header}\n\
         menuentry 'Top' $menuentry_id_option 'top-id' {{\n linux /top\n}}\n\
         submenu 'Sub' $menuentry_id_option 'sub-id' {{\n\
         menuentry 'Child' $menuentry_id_option 'child-id' {{\n linux /child\n}}\n}}\n\
         menuentry 'Last' $menuentry_id_option 'last-id' {{\n linux /last\n}}\n"
    )
}

/// What `selector` boots on the menu of `config`: the image, whether it
/// fell back, or why check cannot tell.
fn boots(config: &str, selector: &str) -> Result<(String, bool), Unselected> {
    let menu = menu(config);
    let (entry, fell_back) = select(&menu, selector)?;
    Ok((entry.linux.clone().unwrap().0, fell_back))
}

#[test]
fn an_id_needs_menuentry_id_option_to_say_id() {
    let booted = |image: &str, fell_back| Ok((image.to_string(), fell_back));
    // Unset, the variable expands to nothing: no entry has an id.
    let unset = with_header("");
    assert_eq!(boots(&unset, "last-id"), booted("/top", true));
    assert_eq!(boots(&unset, "Last"), booted("/last", false));
    // Set but not exported: the submenu's own entries have no id.
    let local = with_header("set menuentry_id_option=--id");
    assert_eq!(boots(&local, "last-id"), booted("/last", false));
    assert_eq!(boots(&local, "sub-id>child-id"), booted("/child", true));
    let exported = with_header("menuentry_id_option=\"--id\"\nexport menuentry_id_option");
    assert_eq!(boots(&exported, "sub-id>child-id"), booted("/child", false));
    // A submenu's entries are built once the whole config has run.
    let emptied = format!("{exported}menuentry_id_option=\"\"\n");
    assert_eq!(boots(&emptied, "last-id"), booted("/last", false));
    assert_eq!(boots(&emptied, "sub-id>Child>x"), booted("/child", false));
    assert_eq!(boots(&emptied, "sub-id>child-id"), booted("/child", true));
}

#[test]
fn an_id_option_set_where_check_cannot_follow_is_not_guessed() {
    let maybe = |step: &str, title: &str| {
        Err(Unselected::MaybeId {
            step: step.to_string(),
            title: title.to_string(),
        })
    };
    let unknown = [
        "if [ \"$x\" ]; then\n menuentry_id_option=--id\nfi",
        "if [ \"$x\" ]; then menuentry_id_option=--id; fi",
        "menuentry_id_option=\"$x\"",
        "function f {\n menuentry_id_option=--id\n}",
    ];
    for header in unknown {
        let config = with_header(header);
        assert_eq!(
            boots(&config, "last-id"),
            maybe("last-id", "Last"),
            "{header}"
        );
        assert_eq!(
            boots(&config, "Last"),
            Ok(("/last".into(), false)),
            "{header}"
        );
        assert_eq!(boots(&config, "2"), Ok(("/last".into(), false)), "{header}");
    }
    // The branches after 00_header's feature test never run; the `else`
    // of a test check cannot tell keeps a value it already has.
    let known = [
        "if [ x$feature_menuentry_id = xy ]; then\n set menuentry_id_option=--id\n\
         elif [ \"$x\" ]; then\n menuentry_id_option=\nfi",
        "menuentry_id_option=--id\nif [ \"$x\" ]; then\n echo\nelse\n menuentry_id_option=--id\nfi",
    ];
    for header in known {
        let config = with_header(header);
        assert_eq!(
            boots(&config, "last-id"),
            Ok(("/last".into(), false)),
            "{header}"
        );
    }
    // Exported where check cannot tell: the submenu's entries may have ids.
    let config = with_header(
        "menuentry_id_option=--id\nif [ \"$x\" ]; then\n export menuentry_id_option\nfi",
    );
    assert_eq!(boots(&config, "last-id"), Ok(("/last".into(), false)));
    assert_eq!(
        boots(&config, "sub-id>child-id"),
        maybe("child-id", "Child")
    );
}
