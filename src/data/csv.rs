//! Reading numeric CSV: [`read_csv`], [`parse_csv`] and [`Dataset::from_csv`].
//!
//! The format is deliberately small: comma-separated numbers, one row per
//! line (`\n` or `\r\n`), every row with the same number of columns, an
//! optional header line, and blank lines allowed only at the end. No quoting,
//! no missing values, no other separators. Errors name the file, the 1-based
//! line and the 1-based column:
//!
//! ```text
//! iris.csv line 17: column 3: cannot parse 'abc' as a number
//! iris.csv line 18: has 4 columns, expected 5
//! ```

use std::path::Path;

use super::Dataset;
use crate::{Error, Result, Scalar, Tensor};

/// One field as a finite number of type `T`, or the reason it is not.
fn parse_field<T: Scalar>(field: &str, column: usize) -> std::result::Result<T, String> {
    let text = field.trim();
    let v: f64 = text
        .parse()
        .map_err(|_| format!("column {column}: cannot parse '{text}' as a number"))?;
    if !v.is_finite() {
        return Err(format!("column {column}: '{text}' is not a finite number"));
    }
    let t = T::from_f64(v);
    if !t.is_finite() {
        return Err(format!("column {column}: '{text}' overflows {}", T::DTYPE));
    }
    Ok(t)
}

/// Whether a line is a header: not every field a finite number.
fn is_header(line: &str) -> bool {
    line.split(',')
        .any(|f| !f.trim().parse::<f64>().is_ok_and(f64::is_finite))
}

/// Parses numeric CSV text into `(header, table)`, the table `[rows, columns]`.
///
/// The first line is taken as a header when any of its fields is not a
/// finite number; its names are trimmed and unquoted. Without a header the
/// returned names are empty. (So a first data line with a typo is read as a
/// header: the next line's column count or the file's meaning will show it.)
/// `source_name` (e.g. the file name) starts every error's location.
///
/// ```
/// use weightwise::data::parse_csv;
/// let (header, t) = parse_csv::<f64>("x,y\n1,2\n3.5,-4e-1\n", "points.csv").unwrap();
/// assert_eq!(header, ["x", "y"]);
/// assert_eq!((t.shape(), t.as_slice()), (&[2, 2][..], &[1.0, 2.0, 3.5, -0.4][..]));
/// let err = parse_csv::<f64>("x,y\n1,2\n3,abc\n", "points.csv").unwrap_err();
/// assert_eq!(err.to_string(), "points.csv line 3: column 2: cannot parse 'abc' as a number");
/// ```
///
/// # Errors
/// [`Error::Format`] with `source_name: "{source_name} line {k}"` for a field
/// that is not a finite number (or overflows `T`), a row with the wrong
/// number of columns, or a blank line before the last row; with
/// `source_name` alone when there are no data rows.
pub fn parse_csv<T: Scalar>(text: &str, source_name: &str) -> Result<(Vec<String>, Tensor<T>)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    // Blank lines may only trail.
    let end = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    let lines = &lines[..end];
    let format_err = |line_no: usize, reason: String| Error::Format {
        source_name: format!("{source_name} line {line_no}"),
        reason,
    };

    let (header, first_data) = match lines.first() {
        Some(first) if is_header(first) => {
            let names = first
                .split(',')
                .map(|f| f.trim().trim_matches('"').to_string())
                .collect();
            (names, 1)
        }
        _ => (Vec::new(), 0),
    };
    let columns = match (header.len(), lines.get(first_data)) {
        (0, Some(line)) => line.split(',').count(),
        (n, _) => n,
    };
    let rows = lines.len() - first_data;
    if rows == 0 {
        return Err(Error::Format {
            source_name: source_name.to_string(),
            reason: "no data rows".to_string(),
        });
    }

    let mut data = Vec::with_capacity(rows * columns);
    for (i, line) in lines.iter().enumerate().skip(first_data) {
        let line_no = i + 1;
        if line.trim().is_empty() {
            return Err(format_err(line_no, "is blank".to_string()));
        }
        let found = line.split(',').count();
        if found != columns {
            return Err(format_err(
                line_no,
                format!("has {found} columns, expected {columns}"),
            ));
        }
        for (j, field) in line.split(',').enumerate() {
            data.push(parse_field::<T>(field, j + 1).map_err(|r| format_err(line_no, r))?);
        }
    }
    Ok((header, Tensor::from_vec(data, &[rows, columns])?))
}

/// Reads a numeric CSV file: [`parse_csv`] on its contents, with the path as
/// the source name.
///
/// # Errors
/// [`Error::Io`] (with the path) if the file cannot be read or is not UTF-8;
/// otherwise as for [`parse_csv`].
pub fn read_csv<T: Scalar>(path: impl AsRef<Path>) -> Result<(Vec<String>, Tensor<T>)> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_csv(&text, &path.display().to_string())
}

impl<T: Scalar> Dataset<T> {
    /// Splits a table `[n, c]` into features (every column but one, in order,
    /// `[n, c − 1]`) and targets (column `target_column`, 0-based, `[n]`).
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if `table` is not 2-D; [`Error::InvalidArgument`]
    /// if `target_column ≥ c`; otherwise as for [`Dataset::new`] (e.g. a table
    /// with one column leaves no features).
    pub fn from_table(table: &Tensor<T>, target_column: usize) -> Result<Self> {
        let (n, c) = table.dims2("Dataset::from_table")?;
        if target_column >= c {
            return Err(Error::invalid_arg(
                "target column",
                target_column,
                format!("the table has {c} columns, indexed from 0"),
            ));
        }
        let mut features = Vec::with_capacity(n * c.saturating_sub(1));
        let mut targets = Vec::with_capacity(n);
        for row in table.iter_rows()? {
            features.extend_from_slice(&row[..target_column]);
            features.extend_from_slice(&row[target_column + 1..]);
            targets.push(row[target_column]);
        }
        Dataset::new(
            Tensor::from_vec(features, &[n, c - 1])?,
            Tensor::from_slice(&targets),
        )
    }

    /// Loads a data set from a numeric CSV file (see [`read_csv`]), column
    /// `target_column` (0-based) as the targets `[n]` and the others as
    /// features. The targets fit softmax cross-entropy (class indices) and
    /// any loss of a one-output network (see the [loss docs](crate::loss));
    /// [`Dataset::from_csv_targets`] says what the targets are and reads
    /// several target columns.
    ///
    /// # Errors
    /// As for [`read_csv`] and [`Dataset::from_table`].
    pub fn from_csv(path: impl AsRef<Path>, target_column: usize) -> Result<Self> {
        let (_, table) = read_csv(path)?;
        Dataset::from_table(&table, target_column)
    }

    /// Loads a data set from a numeric CSV file (see [`read_csv`]) with the
    /// [`Targets`] named: a class-index column (targets `[n]`, checked to
    /// be integers `≥ 0`) or one or more regression columns (targets
    /// `[n, k]`, one column per network output). Every other column is a
    /// feature, in file order.
    ///
    /// ```
    /// use weightwise::data::{Dataset, Targets};
    /// # fn main() -> weightwise::Result<()> {
    /// let path = std::env::temp_dir().join(format!("ww-doc-{}.csv", std::process::id()));
    /// std::fs::write(&path, "x1,x2,y\n0.5,1,2.5\n1.5,2,5.5\n").unwrap();
    /// let d = Dataset::<f64>::from_csv_targets(&path, Targets::values(["y"]))?;
    /// assert_eq!((d.features().shape(), d.targets().shape()), (&[2, 2][..], &[2, 1][..]));
    /// let d = Dataset::<f64>::from_csv_targets(&path, Targets::values([0, 1]))?;
    /// assert_eq!(d.targets().shape(), &[2, 2]);
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As for [`read_csv`]; [`Dataset::from_table_targets`]'s errors, with
    /// the file named.
    pub fn from_csv_targets(path: impl AsRef<Path>, targets: Targets) -> Result<Self> {
        let (header, table) = read_csv(path)?;
        Dataset::from_table_targets(&table, &header, &targets)
    }

    /// Splits a table `[n, c]` into features and the [`Targets`] named;
    /// `header` (the names [`read_csv`] returns, possibly empty) resolves
    /// columns given by name.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if `table` is not 2-D or no feature column is
    /// left; [`Error::InvalidArgument`] for a column index out of range, a
    /// name not in the header (the header is listed), a column named twice,
    /// no target column, or a class column holding a value that is not an
    /// integer `≥ 0` (naming its row).
    pub fn from_table_targets(
        table: &Tensor<T>,
        header: &[String],
        targets: &Targets,
    ) -> Result<Self> {
        let (n, c) = table.dims2("Dataset::from_table_targets")?;
        let columns = match targets {
            Targets::Class(col) => vec![col.resolve(header, c)?],
            Targets::Values(cols) => cols
                .iter()
                .map(|col| col.resolve(header, c))
                .collect::<Result<Vec<_>>>()?,
        };
        if columns.is_empty() {
            return Err(Error::invalid_arg(
                "target columns",
                "none",
                "name at least one target column",
            ));
        }
        for (k, &j) in columns.iter().enumerate() {
            if columns[..k].contains(&j) {
                return Err(Error::invalid_arg(
                    "target columns",
                    j,
                    "a column is named twice",
                ));
            }
        }
        let k = columns.len();
        let width = c - k;
        let mut features = Vec::with_capacity(n * width);
        let mut ys = Vec::with_capacity(n * k);
        for (i, row) in table.iter_rows()?.enumerate() {
            features.extend(
                row.iter()
                    .enumerate()
                    .filter(|(j, _)| !columns.contains(j))
                    .map(|(_, &v)| v),
            );
            for &j in &columns {
                let v = row[j];
                if matches!(targets, Targets::Class(_))
                    && !(v >= T::zero() && v.fract() == T::zero())
                {
                    return Err(Error::invalid_arg(
                        "class column",
                        v,
                        format!("row {i}: a class index must be an integer ≥ 0"),
                    ));
                }
                ys.push(v);
            }
        }
        let target_shape: &[usize] = match targets {
            Targets::Class(_) => &[n],
            Targets::Values(_) => &[n, k],
        };
        Dataset::new(
            Tensor::from_vec(features, &[n, width])?,
            Tensor::from_vec(ys, target_shape)?,
        )
    }
}

/// A column of a table, by 0-based index or by header name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// The 0-based column index.
    Index(usize),
    /// The name in the header line.
    Name(String),
}

impl From<usize> for Column {
    fn from(i: usize) -> Self {
        Column::Index(i)
    }
}

impl From<&str> for Column {
    fn from(name: &str) -> Self {
        Column::Name(name.to_string())
    }
}

impl From<String> for Column {
    fn from(name: String) -> Self {
        Column::Name(name)
    }
}

impl Column {
    /// The 0-based index in a table of `columns` columns with this header.
    fn resolve(&self, header: &[String], columns: usize) -> Result<usize> {
        match self {
            Column::Index(i) if *i < columns => Ok(*i),
            Column::Index(i) => Err(Error::invalid_arg(
                "target column",
                i,
                format!("the table has {columns} columns, indexed from 0"),
            )),
            Column::Name(name) => header.iter().position(|h| h == name).ok_or_else(|| {
                Error::invalid_arg(
                    "target column",
                    name,
                    if header.is_empty() {
                        "the file has no header line: give the column's index".to_string()
                    } else {
                        format!("not in the header; the columns are {}", header.join(", "))
                    },
                )
            }),
        }
    }
}

/// What a table's target columns are, for [`Dataset::from_csv_targets`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    /// One column of class indices `0..C`: targets `[n]`, for softmax
    /// cross-entropy (or 0/1 labels for a one-output binary cross-entropy).
    Class(Column),
    /// One or more columns of real values: targets `[n, k]`, one column per
    /// network output, for the regression losses.
    Values(Vec<Column>),
}

impl Targets {
    /// A class-index column, by index or name: `Targets::class("species")`.
    pub fn class(column: impl Into<Column>) -> Targets {
        Targets::Class(column.into())
    }

    /// Regression columns, by index or name: `Targets::values(["y1", "y2"])`.
    pub fn values<C: Into<Column>>(columns: impl IntoIterator<Item = C>) -> Targets {
        Targets::Values(columns.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(e: &Error) -> (String, String) {
        match e {
            Error::Format {
                source_name,
                reason,
            } => (source_name.clone(), reason.clone()),
            other => panic!("expected Error::Format, got {other:?}"),
        }
    }

    /// A file in the temp directory, removed on drop.
    struct TempFile(std::path::PathBuf);
    impl TempFile {
        fn new(name: &str, contents: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("weightwise-{}-{name}", std::process::id()));
            std::fs::write(&path, contents).unwrap();
            TempFile(path)
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn header_is_detected_and_optional() {
        let (h, t) = parse_csv::<f32>("a, \"b\" ,c\r\n1,2,3\r\n4,5,6\r\n", "x.csv").unwrap();
        assert_eq!(h, ["a", "b", "c"]);
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let (h, t) = parse_csv::<f64>("1, 2\n-3e2 ,.5\n\n\n", "x.csv").unwrap();
        assert!(h.is_empty());
        assert_eq!(t.as_slice(), &[1.0, 2.0, -300.0, 0.5]);
        // No trailing newline, a byte-order mark, and a header with one non-number.
        let (h, t) = parse_csv::<f64>("\u{feff}1,x\n7,8", "x.csv").unwrap();
        assert_eq!((h.len(), t.shape()), (2, &[1usize, 2][..]));
    }

    #[test]
    fn malformed_lines_name_line_and_column() {
        let text = "a,b,c\n1,2,3\n4,5,abc\n";
        let e = parse_csv::<f64>(text, "file.csv").unwrap_err();
        assert_eq!(
            reason(&e),
            (
                "file.csv line 3".to_string(),
                "column 3: cannot parse 'abc' as a number".to_string()
            )
        );
        let e = parse_csv::<f64>("a,b,c\n1,2,3\n1,2,3,4\n", "file.csv").unwrap_err();
        assert_eq!(e.to_string(), "file.csv line 3: has 4 columns, expected 3");
        let e = parse_csv::<f64>("1,2,3\n1,2\n", "file.csv").unwrap_err();
        assert_eq!(e.to_string(), "file.csv line 2: has 2 columns, expected 3");
        let e = parse_csv::<f64>("1,2\n1,\n", "f").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f line 2: column 2: cannot parse '' as a number"
        );
        let e = parse_csv::<f64>("1,2\n\n3,4\n", "f").unwrap_err();
        assert_eq!(e.to_string(), "f line 2: is blank");
        let e = parse_csv::<f64>("x\n1\nNaN\n", "f").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f line 3: column 1: 'NaN' is not a finite number"
        );
        let e = parse_csv::<f32>("x\n1e39\n", "f").unwrap_err();
        assert_eq!(e.to_string(), "f line 2: column 1: '1e39' overflows F32");
        assert!(parse_csv::<f64>("x\n1e39\n", "f").is_ok());
    }

    #[test]
    fn empty_data_is_an_error() {
        for text in ["", "\n\n", "a,b\n", "a,b\n\n"] {
            let e = parse_csv::<f64>(text, "empty.csv").unwrap_err();
            assert_eq!(e.to_string(), "empty.csv: no data rows", "{text:?}");
        }
    }

    #[test]
    fn files_and_io_errors() {
        let f = TempFile::new("ok.csv", "f1,f2,label\n0.5,1,0\n1.5,2,1\n2.5,3,1\n");
        let (h, t) = read_csv::<f32>(&f.0).unwrap();
        assert_eq!((h.len(), t.shape()), (3, &[3usize, 3][..]));
        let d = Dataset::<f32>::from_csv(&f.0, 2).unwrap();
        assert_eq!(d.features().as_slice(), &[0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        assert_eq!(d.targets().as_slice(), &[0.0, 1.0, 1.0]);
        let d = Dataset::<f64>::from_csv(&f.0, 0).unwrap();
        assert_eq!(d.features().as_slice(), &[1.0, 0.0, 2.0, 1.0, 3.0, 1.0]);
        let e = Dataset::<f64>::from_csv(&f.0, 3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid target column = 3: the table has 3 columns, indexed from 0"
        );

        let bad = TempFile::new("bad.csv", "a,b\n1,2\n3,x\n");
        let e = read_csv::<f64>(&bad.0).unwrap_err();
        assert_eq!(
            reason(&e).0,
            format!("{} line 3", bad.0.display()),
            "the path starts the location"
        );

        let missing = std::env::temp_dir().join("weightwise-no-such-file.csv");
        let e = read_csv::<f64>(&missing).unwrap_err();
        assert!(matches!(e, Error::Io { ref path, .. } if *path == missing.display().to_string()));
        assert!(e.to_string().starts_with(&missing.display().to_string()));
        assert!(Dataset::<f64>::from_csv(&missing, 0).is_err());
    }

    #[test]
    fn targets_by_kind_index_and_name() {
        let f = TempFile::new("targets.csv", "a,y1,b,label,y2\n1,10,2,0,20\n3,30,4,2,40\n");
        let d = Dataset::<f64>::from_csv_targets(&f.0, Targets::values(["y1", "y2"])).unwrap();
        assert_eq!(d.targets().shape(), &[2, 2]);
        assert_eq!(d.targets().as_slice(), &[10.0, 20.0, 30.0, 40.0]);
        assert_eq!(d.features().as_slice(), &[1.0, 2.0, 0.0, 3.0, 4.0, 2.0]);
        let d = Dataset::<f32>::from_csv_targets(&f.0, Targets::values([4])).unwrap();
        assert_eq!(d.targets().shape(), &[2, 1]);
        assert_eq!(d.num_features(), 4);
        let d = Dataset::<f64>::from_csv_targets(&f.0, Targets::class("label")).unwrap();
        assert_eq!(
            (d.targets().shape(), d.targets().as_slice()),
            (&[2][..], &[0.0, 2.0][..])
        );

        let err = |t: Targets| {
            Dataset::<f64>::from_csv_targets(&f.0, t)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(Targets::class("nope")),
            "invalid target column = nope: not in the header; the columns are a, y1, b, label, y2"
        );
        assert!(err(Targets::values([5])).contains("the table has 5 columns"));
        assert!(err(Targets::values(["y1", "y1"])).contains("named twice"));
        assert!(err(Targets::Values(Vec::new())).contains("at least one target column"));
        let all: Vec<usize> = (0..5).collect();
        assert!(matches!(
            Dataset::<f64>::from_csv_targets(&f.0, Targets::values(all)),
            Err(Error::InvalidShape { .. })
        ));
        let frac = TempFile::new("frac.csv", "1,0.5\n2,1\n");
        let e = Dataset::<f64>::from_csv_targets(&frac.0, Targets::class(1)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid class column = 0.5: row 0: a class index must be an integer ≥ 0"
        );
        let e = Dataset::<f64>::from_csv_targets(&frac.0, Targets::class("y")).unwrap_err();
        assert!(e.to_string().contains("no header line"), "{e}");
    }

    #[test]
    fn from_table_checks_its_arguments() {
        let t = Tensor::from_rows(&[[1.0f64, 2.0], [3.0, 4.0]]).unwrap();
        let d = Dataset::from_table(&t, 1).unwrap();
        assert_eq!(
            (d.features().as_slice(), d.targets().as_slice()),
            (&[1.0, 3.0][..], &[2.0, 4.0][..])
        );
        assert!(Dataset::from_table(&Tensor::from_slice(&[1.0f64]), 0).is_err());
        // One column leaves no features.
        let one = Tensor::from_rows(&[[1.0f64], [2.0]]).unwrap();
        assert!(matches!(
            Dataset::from_table(&one, 0),
            Err(Error::InvalidShape { .. })
        ));
    }
}
