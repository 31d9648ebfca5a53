//! Property tests of the parsers that untrusted input reaches first (the
//! domain newtypes and the WebSocket client frame), and the content rules
//! shared with the web client (tests/fixtures/content_cases.json).

use hearth::domain::{ClientId, MessageBody, Password, Username, name_key};
use hearth::protocol::ClientFrame;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Any text, with extra weight on the characters the rules care about.
fn text() -> impl Strategy<Value = String> {
    let interesting = prop_oneof![
        Just(' '),
        Just('\n'),
        Just('\t'),
        Just('\r'),
        Just('\u{0}'),
        Just('\u{7f}'),
        Just('\u{85}'),
        Just('\u{a0}'),
        Just('\u{200b}'),
        Just('\u{3000}'),
        Just('\u{feff}'),
        Just('\u{430}'),
        Just('字'),
        Just('😀'),
        any::<char>(),
    ];
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(interesting, 0..80).prop_map(|v| v.into_iter().collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn usernames_parse_once_and_for_all(raw in text()) {
        if let Ok(name) = Username::parse(&raw) {
            let again = Username::parse(name.as_str()).expect("a parsed name parses again");
            prop_assert_eq!(&again, &name);
            let len = name.as_str().chars().count();
            prop_assert!((Username::MIN_CHARS..=Username::MAX_CHARS).contains(&len));
            prop_assert_eq!(name.key(), name_key(name.as_str()));
        }
    }

    #[test]
    fn passwords_are_bounded_by_characters(raw in text()) {
        let len = raw.chars().count();
        prop_assert_eq!(
            Password::parse(raw).is_ok(),
            (Password::MIN_CHARS..=Password::MAX_CHARS).contains(&len)
        );
    }

    #[test]
    fn message_bodies_are_stable_trimmed_and_clean(raw in text()) {
        if let Ok(body) = MessageBody::parse(&raw) {
            let s = body.as_str();
            prop_assert_eq!(MessageBody::parse(s).map(|b| b.into_inner()), Ok(s.to_owned()));
            prop_assert_eq!(s, s.trim());
            prop_assert!((1..=MessageBody::MAX_CHARS).contains(&s.chars().count()));
            prop_assert!(s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
        }
    }

    #[test]
    fn client_ids_match_their_alphabet(raw in prop_oneof![text(), "[A-Za-z0-9_-]{0,70}"]) {
        let valid = (1..=ClientId::MAX_LEN).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        match ClientId::parse(&raw) {
            Ok(id) => {
                prop_assert!(valid);
                prop_assert_eq!(id.as_str(), raw.as_str());
            }
            Err(_) => prop_assert!(!valid),
        }
    }

    #[test]
    fn any_text_frame_parses_or_is_refused_without_panic(raw in text()) {
        let _ = serde_json::from_str::<ClientFrame>(&raw);
    }

    #[test]
    fn any_json_value_frame_parses_or_is_refused_without_panic(v in json_value()) {
        let _ = serde_json::from_value::<ClientFrame>(v.clone());
        let _ = serde_json::from_str::<ClientFrame>(&v.to_string());
    }

    #[test]
    fn message_frames_round_trip(
        content in text(),
        client_id in proptest::option::of("[A-Za-z0-9_-]{1,64}"),
        room in proptest::option::of("[a-z]{1,10}"),
        room_id in proptest::option::of(any::<i64>()),
    ) {
        let mut frame = json!({"type": "message", "content": content});
        if let Some(c) = &client_id { frame["client_id"] = json!(c); }
        if let Some(r) = &room { frame["room"] = json!(r); }
        if let Some(r) = room_id { frame["room_id"] = json!(r); }
        match serde_json::from_str::<ClientFrame>(&frame.to_string()) {
            Ok(ClientFrame::Message { content: c, client_id: id, room: r, room_id: rid, .. }) => {
                prop_assert_eq!(c, content);
                prop_assert_eq!(id, client_id);
                prop_assert_eq!(r, room);
                prop_assert_eq!(rid, room_id);
            }
            other => prop_assert!(false, "not a message frame: {:?}", other),
        }
    }

    #[test]
    fn sync_frames_round_trip(after in any::<i64>()) {
        let frame = json!({"type": "sync", "after": after}).to_string();
        let parsed = matches!(
            serde_json::from_str::<ClientFrame>(&frame),
            Ok(ClientFrame::Sync { after: a }) if a == after
        );
        prop_assert!(parsed, "{}", frame);
    }
}

/// Arbitrary JSON, biased towards objects that look like frames.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        text().prop_map(Value::String),
        prop_oneof![Just("message"), Just("sync"), Just("ping"), Just("")].prop_map(|t| json!(t)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let keys = prop_oneof![
            Just("type".to_owned()),
            Just("content".to_owned()),
            Just("client_id".to_owned()),
            Just("after".to_owned()),
            Just("room".to_owned()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One case of the shared table, with its input built.
struct Case {
    name: String,
    input: String,
    repeated: Option<String>,
    server: String,
    stored: Option<String>,
    client: String,
    normalized: Option<String>,
}

fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/content_cases.json"
    );
    let table: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let field = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
    table["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let repeated =
                field(c, "unit").map(|u| u.repeat(c["times"].as_u64().unwrap() as usize));
            let input = match &repeated {
                Some(r) => {
                    let around = field(c, "around").unwrap_or_default();
                    format!("{around}{r}{around}")
                }
                None => field(c, "input").unwrap(),
            };
            Case {
                name: field(c, "name").unwrap(),
                input,
                repeated,
                server: field(c, "server").unwrap(),
                stored: field(c, "stored"),
                client: field(c, "client").unwrap(),
                normalized: field(c, "normalized"),
            }
        })
        .collect()
}

#[test]
fn the_shared_content_table_holds_on_the_server() {
    let cases = cases();
    assert!(cases.len() >= 20);
    for case in cases {
        let default = || {
            case.repeated
                .clone()
                .unwrap_or_else(|| case.input.trim().to_owned())
        };
        let parsed = MessageBody::parse(&case.input);
        match (case.server.as_str(), &parsed) {
            ("ok", Ok(body)) => {
                let want = case.stored.clone().unwrap_or_else(default);
                assert_eq!(body.as_str(), want, "{}", case.name);
            }
            ("empty", Err(e)) => assert!(e.0.contains("empty"), "{}: {e}", case.name),
            ("too_long", Err(e)) => assert!(e.0.contains("too long"), "{}: {e}", case.name),
            ("control", Err(e)) => assert!(e.0.contains("control"), "{}: {e}", case.name),
            (want, got) => panic!("{}: expected {want}, got {got:?}", case.name),
        }
        // Whatever the client would send, the server stores unchanged.
        if case.client == "ok" {
            let sent = case.normalized.clone().unwrap_or_else(default);
            let stored = MessageBody::parse(&sent).unwrap_or_else(|e| {
                panic!(
                    "{}: the server refuses what the client sends: {e}",
                    case.name
                )
            });
            assert_eq!(stored.as_str(), sent, "{}", case.name);
        }
    }
}
