//! Property tests of TOML edits: for generated documents (comments, CRLF, tables, dotted keys,
//! inline tables, arrays of tables, dates, strings of each quoting style) and any edit of any key,
//! the `toml` crate reads the result as the input with exactly that edit made, and every byte
//! outside the edited key's lines is unchanged.

use std::fmt::Write as _;
use std::ops::Range;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};
use stet::doc::{Document, Edit, Format, KeyPath};

/// A scalar: its value as stet reads it, and how the document spells it.
fn scalar() -> impl Strategy<Value = (Value, String)> {
    let text = "[ -~]{0,8}";
    prop_oneof![
        text.prop_map(|text: String| (Value::String(text.clone()), basic(&text))),
        "[a-z #\"]{0,8}".prop_map(|text| (Value::String(text.clone()), format!("'{text}'"))),
        "[a-z ]{0,8}".prop_map(|text| (Value::String(text.clone()), format!("\"\"\"{text}\"\"\""))),
        "[a-z ]{0,8}".prop_map(|text| (Value::String(text.clone()), format!("'''{text}'''"))),
        any::<i32>().prop_map(|number| (Value::from(number), number.to_string())),
        (0u16..4096).prop_map(|number| (Value::from(number), format!("0x{number:X}"))),
        (1u16..999).prop_map(|number| (Value::from(u32::from(number) * 1000), format!("{number}_000"))),
        (-99i16..99).prop_map(|number| {
            let text = format!("{number}.5");
            (Value::from(text.parse::<f64>().expect("a float")), text)
        }),
        any::<bool>().prop_map(|flag| (Value::Bool(flag), flag.to_string())),
        Just((Value::from("2024-01-02"), "2024-01-02".to_owned())),
        Just((Value::from("1979-05-27T07:32:00Z"), "1979-05-27T07:32:00Z".to_owned())),
        Just((Value::from("07:32:00"), "07:32:00".to_owned())),
    ]
}

fn basic(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value of a key line: a scalar, a one-line or a multi-line array, or an inline table.
fn value() -> impl Strategy<Value = (Value, String)> {
    prop_oneof![
        4 => scalar(),
        1 => proptest::collection::vec(scalar(), 0..4).prop_map(|items| {
            let text = items.iter().map(|(_, text)| text.clone()).collect::<Vec<_>>().join(", ");
            (Value::Array(items.into_iter().map(|(value, _)| value).collect()), format!("[{text}]"))
        }),
        1 => proptest::collection::vec(scalar(), 1..4).prop_map(|items| {
            let lines = items.iter().fold(String::new(), |mut lines, (_, text)| {
                let _ = writeln!(lines, "  {text}, # item");
                lines
            });
            (Value::Array(items.into_iter().map(|(value, _)| value).collect()), format!("[\n{lines}]"))
        }),
        1 => proptest::collection::vec(scalar(), 0..3).prop_map(|items| {
            let members: Vec<String> =
                items.iter().enumerate().map(|(at, (_, text))| format!("m{at} = {text}")).collect();
            let map: Map<String, Value> =
                items.into_iter().enumerate().map(|(at, (value, _))| (format!("m{at}"), value)).collect();
            let text = if members.is_empty() { "{}".to_owned() } else { format!("{{ {} }}", members.join(", ")) };
            (Value::Object(map), text)
        }),
    ]
}

/// One key line as generated: its key text, value and decoration.
#[derive(Debug, Clone)]
struct Line {
    text: String,
    comment_above: bool,
    comment_beside: bool,
    blank_above: bool,
}

fn line() -> impl Strategy<Value = Line> {
    (value(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |((_, text), comment_above, comment_beside, blank_above)| Line {
            text,
            comment_above,
            comment_beside,
            blank_above,
        },
    )
}

/// The shape of a generated document.
#[derive(Debug, Clone)]
struct Shape {
    root: Vec<Line>,
    /// Dotted keys `d.kN`, interleaved with the root keys.
    dotted: Vec<Line>,
    tables: Vec<Vec<Line>>,
    array_of_tables: Vec<Vec<Line>>,
    crlf: bool,
    final_newline: bool,
    indent_tables: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        proptest::collection::vec(line(), 0..4),
        proptest::collection::vec(line(), 0..3),
        proptest::collection::vec(proptest::collection::vec(line(), 0..3), 0..3),
        proptest::collection::vec(proptest::collection::vec(line(), 1..3), 0..3),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(root, dotted, tables, array_of_tables, crlf, final_newline, indent_tables)| Shape {
            root,
            dotted,
            tables,
            array_of_tables,
            crlf,
            final_newline,
            indent_tables,
        })
}

/// A key's lines in the generated text: its own comment through its value's last line.
#[derive(Debug, Clone)]
struct Located {
    path: Vec<String>,
    lines: Range<usize>,
}

/// A generated document: its text, the lines of each key and table, and where each table's
/// region (for new keys) lies.
#[derive(Debug, Clone)]
struct Generated {
    text: String,
    keys: Vec<Located>,
    tables: Vec<Located>,
    root_region: Range<usize>,
    shape: Shape,
}

fn generate(shape: &Shape) -> Generated {
    let nl = if shape.crlf { "\r\n" } else { "\n" };
    let mut text = String::new();
    let mut keys = Vec::new();
    let mut tables = Vec::new();
    let put = |text: &mut String,
               keys: &mut Vec<Located>,
               path: Vec<String>,
               key: &str,
               line: &Line,
               indent: &str| {
        if line.blank_above {
            text.push_str(nl);
        }
        let start = text.len();
        if line.comment_above {
            let _ = write!(text, "{indent}# about {key}{nl}");
        }
        let value = line.text.replace('\n', nl);
        let beside = if line.comment_beside { " # beside" } else { "" };
        let _ = write!(text, "{indent}{key} = {value}{beside}{nl}");
        keys.push(Located { path, lines: start..text.len() });
    };
    let mut dotted = shape.dotted.iter().enumerate();
    for (at, line) in shape.root.iter().enumerate() {
        put(&mut text, &mut keys, vec![format!("k{at}")], &format!("k{at}"), line, "");
        if let Some((at, line)) = dotted.next() {
            put(&mut text, &mut keys, vec!["d".into(), format!("k{at}")], &format!("d.k{at}"), line, "");
        }
    }
    for (at, line) in dotted {
        put(&mut text, &mut keys, vec!["d".into(), format!("k{at}")], &format!("d . \"k{at}\""), line, "");
    }
    let root_region = 0..text.len();
    let indent = if shape.indent_tables { "  " } else { "" };
    for (number, lines) in shape.tables.iter().enumerate() {
        let start = text.len();
        let name = format!("t{number}");
        let _ = write!(text, "# the {name} table{nl}[{name}] # header{nl}");
        for (at, line) in lines.iter().enumerate() {
            put(&mut text, &mut keys, vec![name.clone(), format!("k{at}")], &format!("k{at}"), line, indent);
        }
        tables.push(Located { path: vec![name], lines: start..text.len() });
    }
    for (number, lines) in shape.array_of_tables.iter().enumerate() {
        let start = text.len();
        let _ = write!(text, "{nl}[[aot]]{nl}");
        let header = start + nl.len();
        for (at, line) in lines.iter().enumerate() {
            let path = vec!["aot".into(), number.to_string(), format!("k{at}")];
            put(&mut text, &mut keys, path, &format!("k{at}"), line, "");
        }
        tables.push(Located { path: vec!["aot".into(), number.to_string()], lines: header..text.len() });
    }
    if !shape.final_newline && text.ends_with(nl) {
        text.truncate(text.len() - nl.len());
        for located in keys.iter_mut().chain(tables.iter_mut()) {
            located.lines.end = located.lines.end.min(text.len());
        }
    }
    Generated { text, keys, tables, root_region, shape: shape.clone() }
}

/// An edit to try, and the bytes of the original it may change.
#[derive(Debug, Clone)]
struct Try {
    edit: Edit,
    region: Range<usize>,
}

fn key(path: &[String]) -> KeyPath {
    KeyPath::from_segments(path.to_vec())
}

/// Every edit of the document worth trying, with `new` as the value it sets or pushes.
fn tries(generated: &Generated, value: &Value, new: &Value) -> Vec<Try> {
    let mut tries = Vec::new();
    let text_len = generated.text.len();
    for located in &generated.keys {
        let path = &located.path;
        let region = located.lines.clone();
        tries.push(Try { edit: Edit::Set { key: key(path), value: new.clone() }, region: region.clone() });
        tries.push(Try { edit: Edit::Unset { key: key(path) }, region: region.clone() });
        match lookup(value, path) {
            Some(Value::Array(items)) => {
                tries.push(Try {
                    edit: Edit::Push { key: key(path), value: new.clone() },
                    region: region.clone(),
                });
                for at in 0..items.len() {
                    let item = [path.clone(), vec![at.to_string()]].concat();
                    tries.push(Try {
                        edit: Edit::Set { key: key(&item), value: new.clone() },
                        region: region.clone(),
                    });
                    tries.push(Try { edit: Edit::Unset { key: key(&item) }, region: region.clone() });
                }
            }
            Some(Value::Object(members)) => {
                for name in members.keys() {
                    let member = [path.clone(), vec![name.clone()]].concat();
                    tries.push(Try {
                        edit: Edit::Set { key: key(&member), value: new.clone() },
                        region: region.clone(),
                    });
                    tries.push(Try { edit: Edit::Unset { key: key(&member) }, region: region.clone() });
                }
                let fresh = [path.clone(), vec!["fresh".into()]].concat();
                tries.push(Try { edit: Edit::Set { key: key(&fresh), value: new.clone() }, region });
            }
            _ => {}
        }
    }
    for located in &generated.tables {
        let path = &located.path;
        let fresh = [path.clone(), vec!["fresh".into()]].concat();
        tries.push(Try {
            edit: Edit::Set { key: key(&fresh), value: new.clone() },
            region: located.lines.clone(),
        });
        let deep = [path.clone(), vec!["x".into(), "y".into()]].concat();
        tries.push(Try {
            edit: Edit::Set { key: key(&deep), value: new.clone() },
            region: located.lines.clone(),
        });
        let list = [path.clone(), vec!["list".into()]].concat();
        tries.push(Try {
            edit: Edit::Push { key: key(&list), value: new.clone() },
            region: located.lines.clone(),
        });
        // The only table of an array of tables cannot go: TOML cannot write an empty one.
        if path[0] != "aot" || generated.shape.array_of_tables.len() > 1 {
            tries.push(Try { edit: Edit::Unset { key: key(path) }, region: located.lines.clone() });
        }
    }
    if !generated.shape.array_of_tables.is_empty() {
        let mut member = Map::new();
        member.insert("name".into(), new.clone());
        let region =
            generated.tables.iter().rfind(|table| table.path[0] == "aot").expect("one").lines.clone();
        let region = region.start..text_len;
        tries.push(Try {
            edit: Edit::Push { key: key(&["aot".into()]), value: Value::Object(member) },
            region,
        });
    }
    let root = generated.root_region.clone();
    let root = root.start..root.end.max(generated.tables.first().map_or(text_len, |table| table.lines.start));
    tries.push(Try {
        edit: Edit::Set { key: key(&["fresh".into()]), value: new.clone() },
        region: root.clone(),
    });
    tries.push(Try {
        edit: Edit::Set { key: key(&["new".into(), "deep".into()]), value: new.clone() },
        region: root.clone(),
    });
    tries.push(Try {
        edit: Edit::Push { key: key(&["fresh_list".into()]), value: new.clone() },
        region: root,
    });
    tries
}

fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, segment| match value {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|at| items.get(at)),
        _ => None,
    })
}

/// The edit made on a value, as its meaning says.
fn apply(value: &mut Value, edit: &Edit) {
    let (path, last) = match edit {
        Edit::Set { key, .. } | Edit::Unset { key } | Edit::Push { key, .. } => {
            let (last, path) = key.segments().split_last().unwrap();
            (path.to_vec(), last.clone())
        }
        _ => unreachable!(),
    };
    let mut parent = value;
    for segment in &path {
        parent = match parent {
            Value::Object(map) => map.entry(segment.clone()).or_insert_with(|| Value::Object(Map::new())),
            Value::Array(items) => &mut items[segment.parse::<usize>().unwrap()],
            _ => unreachable!("the generated paths go through tables and lists"),
        };
    }
    match (edit, parent) {
        (Edit::Set { value, .. }, Value::Object(map)) => {
            map.insert(last, value.clone());
        }
        (Edit::Set { value, .. }, Value::Array(items)) => {
            items[last.parse::<usize>().unwrap()] = value.clone();
        }
        (Edit::Unset { .. }, Value::Object(map)) => {
            map.shift_remove(&last);
        }
        (Edit::Unset { .. }, Value::Array(items)) => {
            items.remove(last.parse::<usize>().unwrap());
        }
        (Edit::Push { value, .. }, Value::Object(map)) => {
            match map.entry(last).or_insert_with(|| Value::Array(Vec::new())) {
                Value::Array(items) => items.push(value.clone()),
                _ => unreachable!("pushes go to lists"),
            }
        }
        _ => unreachable!(),
    }
}

/// The `toml` crate's reading of a text, as JSON (dates and times as their TOML text).
fn reference(text: &str) -> Value {
    let table: toml::Table =
        text.parse().unwrap_or_else(|err| panic!("the toml crate rejects {text:?}: {err}"));
    json(&toml::Value::Table(table))
}

fn json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(text) => Value::String(text.clone()),
        toml::Value::Integer(number) => Value::from(*number),
        toml::Value::Float(number) => Value::from(*number),
        toml::Value::Boolean(flag) => Value::Bool(*flag),
        toml::Value::Datetime(datetime) => Value::String(datetime.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        toml::Value::Table(table) => Value::Object(table.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn any_edit_reads_back_exactly_and_changes_no_byte_outside_its_key(
        shape in shape(),
        pick in any::<Index>(),
        (new, _) in scalar(),
    ) {
        let generated = generate(&shape);
        let text = &generated.text;
        let before = reference(text);
        let document = Document::parse(Format::Toml, Some(text.as_bytes())).expect("stet reads the generated text");
        prop_assert_eq!(document.value(), &before, "stet and the toml crate read {:?} alike", text);
        let tries = tries(&generated, &before, &new);
        let Try { edit, region } = pick.get(&tries).clone();
        let mut expected = before.clone();
        apply(&mut expected, &edit);
        let edited = document.edited(std::slice::from_ref(&edit));
        let edited = match edited {
            Ok(edited) => edited.unwrap_or_else(|| text.clone()),
            Err(err) => return Err(TestCaseError::fail(format!("{edit:?} on {text:?} was refused: {err}"))),
        };
        prop_assert_eq!(reference(&edited), expected, "{:?} on {:?} gave {:?}", edit, text, edited);
        let prefix = text.bytes().zip(edited.bytes()).take_while(|(a, b)| a == b).count();
        let suffix = text.bytes().rev().zip(edited.bytes().rev()).take_while(|(a, b)| a == b).count();
        let changed = prefix.min(text.len())..text.len() - suffix.min(text.len() - prefix.min(text.len()));
        // In a file that ends without a line break, the last line break may move behind an
        // added line.
        let at_end = region.end >= text.len() && !text.ends_with('\n');
        prop_assert!(
            edited == *text
                || changed.is_empty() && (region.start..=region.end).contains(&changed.start)
                || region.start <= changed.start && changed.end <= region.end,
            "{:?} on {:?} changed bytes {:?} outside {:?}: {:?}", edit, text, changed, region, edited
        );
        if shape.crlf && text.contains('\n') {
            prop_assert!(!edited.replace("\r\n", "").contains('\n'), "a CRLF file stays CRLF: {:?}", edited);
        }
        // (Unless the edit removed the last line: the line before keeps its line break.)
        let last_after_blank = matches!(edit, Edit::Unset { .. }) && at_end;
        prop_assert!(last_after_blank || edited.is_empty() || edited.ends_with('\n') == (text.ends_with('\n') || text.is_empty()), "{:?} on {:?} keeps the final line break state: {:?}", edit, text, edited);
    }
}
