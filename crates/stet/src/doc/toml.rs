//! TOML documents, edited with `toml_edit`, which keeps comments and formatting.

use serde_json::{Map, Number, Value};
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike};

use super::edit::Edit;
use super::error::DocError;
use super::key::{KeyPath, index};
use super::plan::removals;

/// Parses a TOML document.
pub(crate) fn parse(text: &str) -> Result<DocumentMut, DocError> {
    text.parse::<DocumentMut>().map_err(|err| {
        let line = err.span().map(|span| text[..span.start].matches('\n').count() + 1);
        DocError::malformed(line, err.message().trim_end().to_owned())
    })
}

/// The document's value as JSON (dates and times become strings).
pub(crate) fn to_value(document: &DocumentMut) -> Value {
    table_value(document.as_table())
}

fn table_value(table: &dyn TableLike) -> Value {
    Value::Object(table.iter().map(|(key, item)| (key.to_owned(), item_value(item))).collect::<Map<_, _>>())
}

fn item_value(item: &Item) -> Value {
    match item {
        Item::None => Value::Null,
        Item::Value(value) => value_value(value),
        Item::Table(table) => table_value(table),
        Item::ArrayOfTables(tables) => Value::Array(tables.iter().map(|table| table_value(table)).collect()),
    }
}

fn value_value(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(text) => Value::String(text.value().clone()),
        toml_edit::Value::Integer(number) => Value::from(*number.value()),
        toml_edit::Value::Float(number) => Number::from_f64(*number.value())
            .map_or_else(|| Value::String(number.to_string().trim().to_owned()), Value::Number),
        toml_edit::Value::Boolean(flag) => Value::Bool(*flag.value()),
        toml_edit::Value::Datetime(datetime) => Value::String(datetime.value().to_string()),
        toml_edit::Value::Array(items) => Value::Array(items.iter().map(value_value).collect()),
        toml_edit::Value::InlineTable(table) => table_value(table),
    }
}

/// Makes a run of edits that may be made in any order (see `plan`): its removals first, one pass
/// per table, since a table's `remove` shifts every later key.
pub(crate) fn apply_run(document: &mut DocumentMut, run: &[Edit]) -> Result<(), DocError> {
    if let [single] = run {
        return apply(document, single);
    }
    for (parent, names) in removals(run) {
        let keep = |name: &str| !names.contains(name);
        match table_at(document, parent)? {
            Some(TableMut::Table(table)) => table.retain(|name, _| keep(name)),
            Some(TableMut::Inline(table)) => table.retain(|name, _| keep(name)),
            Some(TableMut::Tables(_)) | None => {}
        }
    }
    for edit in run.iter().filter(|edit| !matches!(edit, Edit::Unset { .. })) {
        apply(document, edit)?;
    }
    Ok(())
}

/// A table found by key path, as its own type: removing keys in one pass needs `retain`, which
/// `TableLike` lacks. `Tables` is a list of tables, on the way to one of them.
enum TableMut<'a> {
    Table(&'a mut Table),
    Inline(&'a mut InlineTable),
    Tables(&'a mut ArrayOfTables),
}

/// The table at the key path of `segments`, if there is one.
fn table_at<'a>(
    document: &'a mut DocumentMut,
    segments: &[String],
) -> Result<Option<TableMut<'a>>, DocError> {
    let mut current = TableMut::Table(document.as_table_mut());
    for segment in segments {
        let found = match current {
            TableMut::Table(table) => match table.get_mut(segment) {
                Some(Item::Table(inner)) => Some(TableMut::Table(inner)),
                Some(Item::ArrayOfTables(tables)) => Some(TableMut::Tables(tables)),
                Some(Item::Value(value)) => inline(value, segments)?,
                Some(Item::None) | None => None,
            },
            TableMut::Inline(table) => match table.get_mut(segment) {
                Some(value) => inline(value, segments)?,
                None => None,
            },
            TableMut::Tables(tables) => index(segment).and_then(|at| tables.get_mut(at)).map(TableMut::Table),
        };
        let Some(found) = found else { return Ok(None) };
        current = found;
    }
    Ok(Some(current))
}

fn inline<'a>(
    value: &'a mut toml_edit::Value,
    segments: &[String],
) -> Result<Option<TableMut<'a>>, DocError> {
    let key = || KeyPath::from_segments(segments.to_vec());
    match value {
        toml_edit::Value::InlineTable(inner) => Ok(Some(TableMut::Inline(inner))),
        toml_edit::Value::Array(_) => Err(DocError::Unsupported {
            message: format!("{}: stet does not edit inside TOML arrays of values", key()),
        }),
        _ => Err(shape(&key(), "goes through a value that is not a table")),
    }
}

/// Makes a set, unset or push on the document.
pub(crate) fn apply(document: &mut DocumentMut, edit: &Edit) -> Result<(), DocError> {
    let (key, value, push) = match edit {
        Edit::Set { key, value } => (key, Some(value), false),
        Edit::Push { key, value } => (key, Some(value), true),
        Edit::Unset { key } => (key, None, false),
        Edit::Merge { .. } => unreachable!("merges are expanded into sets and unsets first"),
    };
    let segments = key.segments();
    let (last, parents) = segments.split_last().expect("key paths are not empty");
    let mut table: &mut dyn TableLike = document.as_table_mut();
    for segment in parents {
        if value.is_none() && table.get(segment).is_none() {
            return Ok(());
        }
        let item = table.entry(segment).or_insert_with(|| {
            let mut created = Table::new();
            created.set_implicit(true);
            Item::Table(created)
        });
        table = descend(item, segment, key)?;
    }
    let Some(value) = value else {
        table.remove(last);
        return Ok(());
    };
    let new = toml_value(value, key)?;
    if push {
        match table.get_mut(last) {
            None => {
                let mut created = Array::new();
                created.push(new);
                table.insert(last, Item::Value(created.into()));
            }
            Some(Item::Value(toml_edit::Value::Array(existing))) => existing.push(new),
            Some(Item::ArrayOfTables(tables)) => match new {
                toml_edit::Value::InlineTable(inline) => tables.push(inline.into_table()),
                _ => return Err(shape(key, "is a list of tables; only a mapping can be pushed to it")),
            },
            Some(_) => return Err(shape(key, "is not a list")),
        }
        return Ok(());
    }
    match table.get_mut(last) {
        Some(Item::Value(old)) => {
            let decor = old.decor().clone();
            *old = new;
            *old.decor_mut() = decor;
        }
        _ => {
            table.insert(last, Item::Value(new));
        }
    }
    Ok(())
}

fn descend<'a>(item: &'a mut Item, segment: &str, key: &KeyPath) -> Result<&'a mut dyn TableLike, DocError> {
    match item {
        Item::ArrayOfTables(tables) => {
            let count = tables.len();
            index(segment)
                .and_then(|at| tables.get_mut(at))
                .map(|table| table as &mut dyn TableLike)
                .ok_or_else(|| {
                    shape(key, &format!("`{segment}` is not an index of that list of tables ({count})"))
                })
        }
        Item::Value(toml_edit::Value::Array(_)) => Err(DocError::Unsupported {
            message: format!("{key}: stet does not edit inside TOML arrays of values"),
        }),
        item => {
            item.as_table_like_mut().ok_or_else(|| shape(key, "goes through a value that is not a table"))
        }
    }
}

fn toml_value(value: &Value, key: &KeyPath) -> Result<toml_edit::Value, DocError> {
    Ok(match value {
        Value::Null => {
            return Err(DocError::Invalid {
                message: format!("{key}: TOML has no null; use `stet unset` to remove a key"),
            });
        }
        Value::Bool(flag) => (*flag).into(),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => integer.into(),
            None => number
                .as_f64()
                .ok_or_else(|| DocError::Invalid {
                    message: format!("{key}: {number} does not fit a TOML number"),
                })?
                .into(),
        },
        Value::String(text) => text.as_str().into(),
        Value::Array(items) => {
            items.iter().map(|item| toml_value(item, key)).collect::<Result<Array, _>>()?.into()
        }
        Value::Object(map) => {
            let mut table = InlineTable::new();
            for (name, item) in map {
                table.insert(name, toml_value(item, key)?);
            }
            table.into()
        }
    })
}

fn shape(key: &KeyPath, message: &str) -> DocError {
    DocError::Shape { key: key.to_string(), message: message.into() }
}
