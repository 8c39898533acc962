//! Property tests of YAML files: for generated documents (comments, CRLF, flow and block styles,
//! block scalars with each chomping, quoted strings with escapes, lists of mappings) and any edit
//! at any key path, (1) an independent YAML 1.2 reader (the `saphyr` loader) reads the result as
//! the input's value with exactly that edit applied, and (2) no byte outside the edited entry's
//! lines changes.

use std::ops::Range;

use proptest::prelude::*;
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value, json};
use stet::doc::{Document, Edit, Format, KeyPath};

const KEYWORDS: [&str; 9] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z_]{0,6}".prop_filter("not a YAML keyword", |word| !KEYWORDS.contains(&word.as_str()))
}

#[derive(Debug, Clone, Copy)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// A scalar and how the document writes it.
#[derive(Debug, Clone)]
enum Leaf {
    Plain(Value),
    Single(String),
    Double(String),
    Literal(Vec<String>, Chomp),
    Folded(Vec<String>, Chomp),
}

#[derive(Debug, Clone)]
enum Node {
    Scalar(Leaf),
    FlowList(Vec<Value>),
    /// Items, and whether they sit at the key's column (`key:` then `- a`).
    BlockList(Vec<Node>, bool),
    /// Entries with a comment line above them or not.
    Map(Vec<(String, Node, bool)>),
}

fn plain_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        word().prop_map(Value::String),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn scalar() -> impl Strategy<Value = Leaf> {
    let chomp = prop_oneof![Just(Chomp::Strip), Just(Chomp::Clip), Just(Chomp::Keep)];
    let lines = || proptest::collection::vec(word(), 1..3);
    prop_oneof![
        4 => plain_value().prop_map(Leaf::Plain),
        1 => "[ -~]{0,8}".prop_map(Leaf::Single),
        1 => "([ -~]|\n|\t|é|\u{1}){0,8}".prop_map(Leaf::Double),
        1 => (lines(), chomp.clone()).prop_map(|(lines, chomp)| Leaf::Literal(lines, chomp)),
        1 => (lines(), chomp).prop_map(|(lines, chomp)| Leaf::Folded(lines, chomp)),
    ]
}

fn map_of(inner: BoxedStrategy<Node>) -> BoxedStrategy<Node> {
    proptest::collection::btree_map(word(), (inner, any::<bool>()), 1..4)
        .prop_map(|map| {
            map.into_iter().map(|(key, (node, comment))| (key, node, comment)).collect::<Vec<_>>()
        })
        .prop_shuffle()
        .prop_map(Node::Map)
        .boxed()
}

fn node() -> BoxedStrategy<Node> {
    let leaf = prop_oneof![
        4 => scalar().prop_map(Node::Scalar),
        1 => proptest::collection::vec(plain_value(), 0..3).prop_map(Node::FlowList),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let items = proptest::collection::vec(inner.clone(), 1..4);
        prop_oneof![
            (items, any::<bool>()).prop_map(|(items, indentless)| Node::BlockList(items, indentless)),
            map_of(inner.clone()),
            // A list of mappings, as every CI file and playbook has.
            (proptest::collection::vec(map_of(inner), 1..3), any::<bool>())
                .prop_map(|(items, indentless)| Node::BlockList(items, indentless)),
        ]
    })
    .boxed()
}

impl Node {
    fn value(&self) -> Value {
        match self {
            Node::Scalar(scalar) => scalar.value(),
            Node::FlowList(items) => Value::Array(items.clone()),
            Node::BlockList(items, _) => Value::Array(items.iter().map(Node::value).collect()),
            Node::Map(entries) => {
                Value::Object(entries.iter().map(|(key, node, _)| (key.clone(), node.value())).collect())
            }
        }
    }
}

impl Leaf {
    fn value(&self) -> Value {
        let chomped = |text: String, chomp: Chomp| match chomp {
            Chomp::Strip => text,
            Chomp::Clip => text + "\n",
            Chomp::Keep => text + "\n\n",
        };
        match self {
            Leaf::Plain(value) => value.clone(),
            Leaf::Single(text) | Leaf::Double(text) => Value::String(text.clone()),
            Leaf::Literal(lines, chomp) => Value::String(chomped(lines.join("\n"), *chomp)),
            Leaf::Folded(lines, chomp) => Value::String(chomped(lines.join(" "), *chomp)),
        }
    }
}

/// The text of a generated document, and the byte range of each key path's entry (its comment
/// line above, its key line, its value's lines, with the last line break).
struct Written {
    text: String,
    nl: &'static str,
    /// Each key path, its entry's range, and the range of the collection it is in.
    entries: Vec<(Vec<String>, Range<usize>)>,
}

impl Written {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push_str(self.nl);
    }

    /// The range of the entry at `path`, or of the nearest one holding it (an item of a flow list
    /// lies on its entry's line).
    fn range_of(&self, path: &[String]) -> Range<usize> {
        (0..=path.len())
            .rev()
            .find_map(|length| {
                self.entries.iter().find(|(at, _)| at == &path[..length]).map(|(_, range)| range.clone())
            })
            .unwrap_or(0..self.text.len())
    }

    fn scalar_inline(scalar: &Leaf) -> Option<String> {
        Some(match scalar {
            Leaf::Plain(Value::String(text)) => text.clone(),
            Leaf::Plain(value) => value.to_string(),
            Leaf::Single(text) => format!("'{}'", text.replace('\'', "''")),
            Leaf::Double(text) => serde_json::to_string(text).unwrap(),
            Leaf::Literal(..) | Leaf::Folded(..) => return None,
        })
    }

    /// Writes `node` as the value after `head` (`key:` or `- `, already indented), at `indent`.
    fn value(&mut self, head: &str, node: &Node, indent: usize, path: &mut Vec<String>, beside: bool) {
        let pad = " ".repeat(indent);
        let beside = if beside { " # beside" } else { "" };
        match node {
            Node::Scalar(Leaf::Literal(lines, chomp)) => {
                self.block_scalar(&format!("{head} |"), lines, *chomp, &pad, beside);
            }
            Node::Scalar(Leaf::Folded(lines, chomp)) => {
                self.block_scalar(&format!("{head} >"), lines, *chomp, &pad, beside);
            }
            Node::Scalar(scalar) => {
                let text = Self::scalar_inline(scalar).expect("not a block scalar");
                self.line(&format!("{head} {text}{beside}"));
            }
            Node::FlowList(items) => {
                let items: Vec<String> = items.iter().map(Value::to_string).collect();
                self.line(&format!("{head} [{}]{beside}", items.join(", ")));
            }
            Node::BlockList(items, indentless) => {
                self.line(&format!("{head}{beside}"));
                let column = if *indentless && head.ends_with(':') { indent } else { indent + 2 };
                self.list_items(items, column, path);
            }
            Node::Map(entries) => {
                self.line(&format!("{head}{beside}"));
                self.map_entries(entries, indent + 2, path, None);
            }
        }
    }

    fn block_scalar(&mut self, head: &str, lines: &[String], chomp: Chomp, pad: &str, beside: &str) {
        let chomp_text = match chomp {
            Chomp::Strip => "-",
            Chomp::Clip => "",
            Chomp::Keep => "+",
        };
        self.line(&format!("{head}{chomp_text}{beside}"));
        for line in lines {
            self.line(&format!("{pad}  {line}"));
        }
        if matches!(chomp, Chomp::Keep) {
            self.line("");
        }
    }

    fn list_items(&mut self, items: &[Node], column: usize, path: &mut Vec<String>) {
        let pad = " ".repeat(column);
        for (at, item) in items.iter().enumerate() {
            path.push(at.to_string());
            let start = self.text.len();
            match item {
                // `- key: value` then the other keys at the column after `- `.
                Node::Map(entries) => self.map_entries(entries, column + 2, path, Some(&format!("{pad}- "))),
                _ => self.value(&format!("{pad}-"), item, column, path, false),
            }
            self.entries.push((path.clone(), start..self.text.len()));
            path.pop();
        }
    }

    /// Writes mapping entries at `column`; the first after `first_head` (a list item's `- `) if given.
    fn map_entries(
        &mut self,
        entries: &[(String, Node, bool)],
        column: usize,
        path: &mut Vec<String>,
        first_head: Option<&str>,
    ) {
        let pad = " ".repeat(column);
        for (at, (key, node, comment)) in entries.iter().enumerate() {
            path.push(key.clone());
            let start = self.text.len();
            let head = match first_head {
                Some(dash) if at == 0 => format!("{dash}{key}:"),
                _ => {
                    if *comment {
                        self.line(&format!("{pad}# about {key}"));
                    }
                    format!("{pad}{key}:")
                }
            };
            self.value(&head, node, column, path, *comment);
            self.entries.push((path.clone(), start..self.text.len()));
            path.pop();
        }
    }
}

fn write(entries: &[(String, Node, bool)], crlf: bool, dashes: bool, trailer: bool) -> Written {
    let mut written =
        Written { text: String::new(), nl: if crlf { "\r\n" } else { "\n" }, entries: Vec::new() };
    if dashes {
        written.line("---");
    }
    written.map_entries(entries, 0, &mut Vec::new(), None);
    if trailer {
        written.line("# the end");
    }
    written
}

#[derive(Debug, Clone)]
enum Change {
    Set(usize, Node),
    SetNew(usize, String, Value),
    Unset(usize),
    Push(usize, Value),
}

fn change() -> impl Strategy<Value = Change> {
    let new_value = prop_oneof![
        3 => scalar().prop_map(|scalar| scalar.value()),
        1 => proptest::collection::vec(plain_value(), 0..3).prop_map(Value::Array),
        1 => proptest::collection::btree_map(word(), plain_value(), 1..3).prop_map(|map| Value::Object(map.into_iter().collect())),
    ];
    prop_oneof![
        (any::<usize>(), node()).prop_map(|(at, node)| Change::Set(at, node)),
        (any::<usize>(), word(), new_value.clone()).prop_map(|(at, key, value)| Change::SetNew(
            at,
            format!("new_{key}"),
            value
        )),
        any::<usize>().prop_map(Change::Unset),
        (any::<usize>(), plain_value()).prop_map(|(at, value)| Change::Push(at, value)),
    ]
}

/// Every key path of `value`, outermost first.
fn paths(value: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                at.push(key.clone());
                out.push(at.clone());
                paths(inner, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                at.push(index.to_string());
                out.push(at.clone());
                paths(inner, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'v>(value: &'v mut Value, path: &[String]) -> &'v mut Value {
    path.iter().fold(value, |value, segment| match value {
        Value::Object(map) => map.get_mut(segment).unwrap(),
        Value::Array(items) => &mut items[segment.parse::<usize>().unwrap()],
        _ => unreachable!("the path was found in the value"),
    })
}

/// The saphyr loader's reading, as JSON; an empty document (null, to saphyr) is an empty
/// mapping, as stet reads it.
fn reference(text: &str) -> Value {
    let documents = Yaml::load_from_str(text).unwrap_or_else(|err| panic!("saphyr reads {text:?}: {err}"));
    documents.first().map(to_json).filter(|value| !value.is_null()).unwrap_or_else(|| json!({}))
}

fn to_json(yaml: &Yaml<'_>) -> Value {
    match yaml {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(flag)) => Value::Bool(*flag),
        Yaml::Value(Scalar::Integer(number)) => json!(number),
        Yaml::Value(Scalar::FloatingPoint(number)) => json!(number.into_inner()),
        Yaml::Value(Scalar::String(text)) => Value::String(text.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let Value::String(key) = to_json(key) else { panic!("generated keys are strings") };
                    (key, to_json(value))
                })
                .collect::<Map<_, _>>(),
        ),
        other => panic!("saphyr gave {other:?}"),
    }
}

/// What stet reads, compared as JSON text so that number spellings do not matter.
fn same(left: &Value, right: &Value) -> bool {
    serde_json::from_str::<serde_json::Value>(&left.to_string()).ok().map(|left| normal(&left))
        == Some(normal(right))
}

fn normal(value: &Value) -> Value {
    match value {
        Value::Number(number) => number.as_f64().map_or_else(|| value.clone(), |float| json!(float)),
        Value::Array(items) => Value::Array(items.iter().map(normal).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(key, value)| (key.clone(), normal(value))).collect())
        }
        other => other.clone(),
    }
}

/// Whether `new` is `old` with only the bytes of `allowed` replaced.
fn only_changed(old: &str, new: &str, allowed: &Range<usize>) -> bool {
    let (before, after) = (&old[..allowed.start], &old[allowed.end..]);
    new.len() >= before.len() + after.len() && new.starts_with(before) && new.ends_with(after)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn any_edit_of_a_yaml_file_means_exactly_that_edit_and_keeps_every_other_line(
        root in map_of(node()),
        change in change(),
        crlf in any::<bool>(),
        dashes in any::<bool>(),
        trailer in any::<bool>(),
    ) {
        let Node::Map(entries) = &root else { unreachable!("a mapping") };
        let written = write(entries, crlf, dashes, trailer);
        let text = &written.text;
        let value = root.value();
        let document = Document::parse(Format::Yaml, Some(text.as_bytes())).unwrap_or_else(|err| panic!("stet reads {text:?}: {err}"));
        prop_assert!(same(document.value(), &value), "stet reads {:?} as {}", text, document.value());
        prop_assert!(same(&reference(text), &value), "the generator writes {:?} for {}", text, value);

        let mut all = Vec::new();
        paths(&value, &mut Vec::new(), &mut all);
        let pick = |at: usize| all[at % all.len()].clone();
        let mut expected = value.clone();
        // The edit, and the range of the old text it may change.
        let (edit, allowed) = match &change {
            Change::Set(at, node) => {
                let path = pick(*at);
                let new = node.value();
                *at_path(&mut expected, &path) = new.clone();
                (Edit::Set { key: KeyPath::from_segments(path.clone()), value: new }, written.range_of(&path))
            }
            Change::SetNew(at, key, new) => {
                // Into the mapping at a path (or the document).
                let mappings: Vec<Vec<String>> = std::iter::once(Vec::new()).chain(all.iter().cloned()).filter(|path| {
                    at_path(&mut value.clone(), path).is_object()
                }).collect();
                let path = mappings[at % mappings.len()].clone();
                at_path(&mut expected, &path).as_object_mut().unwrap().insert(key.clone(), new.clone());
                let mut key_path = path.clone();
                key_path.push(key.clone());
                (Edit::Set { key: KeyPath::from_segments(key_path), value: new.clone() }, written.range_of(&path))
            }
            Change::Unset(at) => {
                let path = pick(*at);
                let (parent, last) = path.split_at(path.len() - 1);
                let holder = at_path(&mut expected, parent);
                let siblings = match holder {
                    Value::Object(map) => { map.shift_remove(&last[0]); map.len() }
                    Value::Array(items) => { items.remove(last[0].parse::<usize>().unwrap()); items.len() }
                    _ => unreachable!(),
                };
                // The last entry of a collection takes the collection's own line with it (`{}`).
                let allowed = if siblings == 0 { written.range_of(parent) } else { written.range_of(&path) };
                (Edit::Unset { key: KeyPath::from_segments(path.clone()) }, allowed)
            }
            Change::Push(at, new) => {
                let lists: Vec<Vec<String>> = all.iter().filter(|path| at_path(&mut value.clone(), path).is_array()).cloned().collect();
                if lists.is_empty() {
                    return Ok(());
                }
                let path = lists[at % lists.len()].clone();
                at_path(&mut expected, &path).as_array_mut().unwrap().push(new.clone());
                (Edit::Push { key: KeyPath::from_segments(path.clone()), value: new.clone() }, written.range_of(&path))
            }
        };
        let result = document.edited(std::slice::from_ref(&edit));
        let new_text = match result {
            Ok(Some(new_text)) => new_text,
            Ok(None) => {
                prop_assert!(same(&expected, &value), "only an edit that changes nothing leaves the text alone");
                return Ok(());
            }
            Err(err) => {
                prop_assert!(false, "{edit:?} of {text:?} is refused: {err}");
                unreachable!()
            }
        };
        prop_assert!(same(&reference(&new_text), &expected), "saphyr reads {:?} after {:?} of {:?}", new_text, edit, text);
        let reread = Document::parse(Format::Yaml, Some(new_text.as_bytes())).unwrap();
        prop_assert!(same(reread.value(), &expected), "stet reads {:?} after {:?}", new_text, edit);
        prop_assert!(!new_text.contains('\n') || crlf == new_text.contains("\r\n"), "line breaks stay as they were: {:?}", new_text);
        prop_assert!(!crlf || !new_text.replace("\r\n", "").contains('\n'), "every added line ends in CRLF: {:?}", new_text);
        prop_assert!(
            only_changed(text, &new_text, &allowed),
            "{:?} of {:?} changed bytes outside {:?}: {:?}", edit, text, allowed, new_text
        );
    }
}

#[test]
fn the_generator_writes_what_the_reference_reads() {
    // A fixed document through the same writer, so that a broken writer fails here plainly.
    let entries = vec![
        ("a".to_owned(), Node::Scalar(Leaf::Literal(vec!["x".into()], Chomp::Keep)), true),
        (
            "b".to_owned(),
            Node::BlockList(
                vec![Node::Map(vec![("c".into(), Node::Scalar(Leaf::Plain(json!(1))), false)])],
                true,
            ),
            false,
        ),
    ];
    let written = write(&entries, false, true, true);
    assert_eq!(written.text, "---\n# about a\na: |+ # beside\n  x\n\nb:\n- c: 1\n# the end\n");
    assert_eq!(reference(&written.text), json!({"a": "x\n\n", "b": [{"c": 1}]}));
}
