//! Tables as the user asked for them: aligned text, CSV, JSON, or JSON lines.

use std::io::Write;

use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for reading.
    Table,
    /// A header row, then one row per record.
    Csv,
    /// One array of objects keyed by column name.
    Json,
    /// One JSON object per line: for `jq`, log files, and scripts without a JSON parser.
    Jsonl,
}

/// A table of JSON values: what every listing command prints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Rows {
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Self {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }
}

/// Text of a cell: strings bare, null empty, floats as printed by serde_json.
fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn write_rows(out: &mut dyn Write, rows: &Rows, format: Format) -> Result<()> {
    match format {
        Format::Table => {
            let mut table = Table::new();
            table
                .load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(&rows.columns);
            for r in &rows.rows {
                table.add_row(r.iter().map(cell_text));
            }
            writeln!(out, "{table}")?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&rows.columns)?;
            for r in &rows.rows {
                w.write_record(r.iter().map(cell_text))?;
            }
            w.flush()?;
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &objects(rows))?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for object in objects(rows) {
                serde_json::to_writer(&mut *out, &object)?;
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// Each row as an object keyed by column name.
fn objects(rows: &Rows) -> Vec<serde_json::Map<String, Value>> {
    rows.rows
        .iter()
        .map(|r| {
            rows.columns
                .iter()
                .cloned()
                .zip(r.iter().cloned())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Rows {
        let mut rows = Rows::new(["id", "name", "acc"]);
        rows.rows.push(vec![json!(1), json!("a,b"), json!(0.5)]);
        rows.rows.push(vec![json!(2), Value::Null, json!(0.25)]);
        rows
    }

    fn render(format: Format) -> String {
        let mut buf = Vec::new();
        write_rows(&mut buf, &sample(), format).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn csv_quotes_commas_and_leaves_null_empty() {
        assert_eq!(render(Format::Csv), "id,name,acc\n1,\"a,b\",0.5\n2,,0.25\n");
    }

    #[test]
    fn json_is_an_array_of_objects_keyed_by_column() {
        let v: Value = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(
            v,
            json!([{"id":1,"name":"a,b","acc":0.5},{"id":2,"name":null,"acc":0.25}])
        );
    }

    #[test]
    fn jsonl_is_one_object_per_line_in_row_order() {
        let text = render(Format::Jsonl);
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                json!({"id":1,"name":"a,b","acc":0.5}),
                json!({"id":2,"name":null,"acc":0.25})
            ]
        );
    }

    #[test]
    fn table_has_header_and_every_cell() {
        let text = render(Format::Table);
        let header = text.lines().nth(1).unwrap();
        assert!(
            header.contains("id") && header.contains("name") && header.contains("acc"),
            "{text}"
        );
        assert!(text.contains("a,b") && text.contains("0.25"), "{text}");
    }
}
