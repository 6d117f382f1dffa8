//! Tests of the `.npy` reader and writer against files numpy wrote
//! (tests/fixtures/npy/make_npy.py), and against hostile bytes.

use super::*;
use proptest::prelude::*;
use std::path::PathBuf;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npy")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

fn read<T: Scalar>(name: &str) -> Result<Tensor<T>> {
    parse_npy(&fixture(name), name)
}

/// The `Error::Format` reason, or a panic naming what came instead.
fn reason<T: Scalar + std::fmt::Debug>(r: Result<Tensor<T>>) -> String {
    match r {
        Err(Error::Format { reason, .. }) => reason,
        other => panic!("expected a format error, got {other:?}"),
    }
}

/// `np.arange(n)` mapped through `f`, as `T`.
fn arange<T: Scalar>(n: usize, f: impl Fn(f64) -> f64) -> Vec<T> {
    (0..n).map(|i| T::from_f64(f(i as f64))).collect()
}

macro_rules! typed_tests {
    ($name:ident, $t:ty) => {
        mod $name {
            use super::*;
            type T = $t;

            #[test]
            fn reads_what_numpy_wrote() {
                let t = read::<T>("f64_2x3.npy").unwrap();
                assert_eq!(t.shape(), &[2, 3]);
                assert_eq!(t.as_slice(), arange::<T>(6, |i| i / 4.0));
                let t = read::<T>("f32_2x3x4.npy").unwrap();
                assert_eq!(t.shape(), &[2, 3, 4]);
                assert_eq!(t.as_slice(), arange::<T>(24, |i| i * 0.5 - 3.0));
                let t = read::<T>("f32_vec.npy").unwrap();
                assert_eq!(
                    (t.shape(), t.as_slice()),
                    (&[5][..], &arange::<T>(5, |i| i * 0.25)[..])
                );
                let t = read::<T>("f64_scalar.npy").unwrap();
                assert_eq!((t.shape(), t.as_slice()), (&[][..], &[2.5 as T][..]));
                let t = read::<T>("f32_empty.npy").unwrap();
                assert_eq!((t.shape(), t.len()), (&[0, 3][..], 0));
                let labels = arange::<T>(10, |i| (i * 7.0) % 10.0);
                for name in ["i64_labels.npy", "i32_labels.npy"] {
                    let t = read::<T>(name).unwrap();
                    assert_eq!(
                        (t.shape(), t.as_slice()),
                        (&[10][..], &labels[..]),
                        "{name}"
                    );
                }
                let t = read::<T>("u8_pixels.npy").unwrap();
                assert_eq!(t.shape(), &[3, 4]);
                assert_eq!(t.as_slice(), arange::<T>(12, |i| i * 20.0));
                // Format versions 2.0 and 3.0 hold the same array.
                let v1 = read::<T>("f64_2x3.npy").unwrap();
                assert_eq!(read::<T>("f64_v2.npy").unwrap(), v1);
                assert_eq!(read::<T>("f64_v3.npy").unwrap(), v1);
            }

            #[test]
            fn writes_what_numpy_writes_byte_for_byte() {
                // Only the fixtures of T's own dtype: a cast file would differ.
                let own = if T::DTYPE == "F32" {
                    ["f32_2x3x4.npy", "f32_vec.npy", "f32_empty.npy"].as_slice()
                } else {
                    ["f64_2x3.npy", "f64_scalar.npy"].as_slice()
                };
                for name in own {
                    let bytes = fixture(name);
                    let t = parse_npy::<T>(&bytes, name).unwrap();
                    assert_eq!(npy_bytes(&t).unwrap(), bytes, "{name}");
                }
            }

            #[test]
            fn file_round_trip_and_io_errors() {
                let dir = std::env::temp_dir().join(format!(
                    "ww-npy-{}-{}",
                    std::process::id(),
                    T::DTYPE
                ));
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join("t.npy");
                let t = Tensor::<T>::from_vec(arange(12, |i| i.sin()), &[3, 2, 2]).unwrap();
                write_npy(&path, &t).unwrap();
                assert_eq!(read_npy::<T>(&path).unwrap(), t);
                let missing = dir.join("nothing-here.npy");
                let e = read_npy::<T>(&missing).unwrap_err();
                assert!(
                    matches!(e, Error::Io { .. }) && e.to_string().contains("nothing-here.npy"),
                    "{e}"
                );
                let e = write_npy(dir.join("no-dir/t.npy"), &t).unwrap_err();
                assert!(matches!(e, Error::Io { .. }), "{e}");
                std::fs::remove_dir_all(&dir).unwrap();
            }

            #[test]
            fn conversions_are_exact_or_errors() {
                // 2²⁴ + 1 has no f32; 2⁵³ + 1 has no f64.
                let r = reason(read::<T>("i64_big.npy"));
                let bad = if T::DTYPE == "F32" {
                    16_777_217i64
                } else {
                    9_007_199_254_740_993
                };
                assert!(
                    r.contains(&format!(
                        "the integer {bad} is not exactly representable as {}",
                        T::DTYPE
                    )),
                    "{r}"
                );
                let huge = read::<T>("f64_huge.npy");
                if T::DTYPE == "F32" {
                    let r = reason(huge);
                    assert!(
                        r.contains("element 0") && r.contains("overflows F32"),
                        "{r}"
                    );
                } else {
                    assert_eq!(huge.unwrap().as_slice(), &[T::from_f64(1e300)]);
                }
            }
        }
    };
}

typed_tests!(f32_tests, f32);
typed_tests!(f64_tests, f64);

#[test]
fn narrowing_rounds_to_nearest() {
    let x = Tensor::from_slice(&[0.1f64, 1.0 / 3.0, -2.5e-40]);
    let t = parse_npy::<f32>(&npy_bytes(&x).unwrap(), "x").unwrap();
    assert_eq!(t.as_slice(), &[0.1f32, 1.0 / 3.0, -2.5e-40]);
}

#[test]
fn labels_write_as_numpy_int64() {
    let labels: Vec<usize> = (0..10).map(|i| (i * 7) % 10).collect();
    assert_eq!(npy_label_bytes(&labels).unwrap(), fixture("i64_labels.npy"));
    let dir = std::env::temp_dir().join(format!("ww-npy-labels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_npy_labels(dir.join("y.npy"), &labels).unwrap();
    let back = read_npy::<f64>(dir.join("y.npy")).unwrap();
    assert_eq!(crate::data::to_labels(&back).unwrap(), labels);
    std::fs::remove_dir_all(&dir).unwrap();
    if usize::BITS == 64 {
        let e = npy_label_bytes(&[1, usize::MAX]).unwrap_err();
        assert!(
            e.to_string().contains("at index 1 does not fit in int64"),
            "{e}"
        );
    }
}

#[test]
fn unsupported_layouts_and_dtypes_say_how_to_fix() {
    let cases = [
        (
            "fortran.npy",
            "Fortran (column-major) order; weightwise reads C order (save np.ascontiguousarray(arr) instead",
        ),
        ("big_endian.npy", "dtype '>f8' is big-endian"),
        ("f16.npy", "dtype '<f2' is not supported"),
        ("bool.npy", "dtype '|b1' is not supported"),
        ("object.npy", "dtype '|O' is not supported"),
        (
            "structured.npy",
            "structured dtypes (record arrays) are not supported",
        ),
    ];
    for (name, want) in cases {
        let r = reason(read::<f64>(name));
        assert!(r.contains(want), "{name}: {r}");
    }
    let e = read::<f32>("bool.npy").unwrap_err();
    assert!(e.to_string().starts_with("bool.npy: "), "{e}");
}

/// A version-1.0 file of `header` (padded as numpy pads) and `data`.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(h.len()).unwrap().to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

fn err(bytes: &[u8]) -> String {
    reason(parse_npy::<f64>(bytes, "x.npy"))
}

#[test]
fn hostile_headers_are_errors_before_any_allocation() {
    let ok = fixture("f64_2x3.npy");
    assert!(err(&ok[..5]).contains("5 bytes is too short"));
    assert!(err(b"PK\x03\x04 zip, not npy").contains("does not start with"));
    assert!(err(&ok[..7]).contains("truncated before the format version"));
    assert!(err(&ok[..9]).contains("truncated before the header length"));
    let mut v = ok.clone();
    v[6] = 4;
    assert!(err(&v).contains("format version 4.0"));
    // A header length past the end of the file.
    let mut v = ok[..20].to_vec();
    v[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(
        err(&v).contains("the header length 65535 is larger than the 10 bytes"),
        "{}",
        err(&v)
    );
    // Version 2.0 with a 4 GB header length, and with one past numpy's limit.
    let mut v = b"\x93NUMPY\x02\x00".to_vec();
    v.extend_from_slice(&u32::MAX.to_le_bytes());
    v.extend_from_slice(b"{}");
    assert!(err(&v).contains("the header length 4294967295 is larger than the 2 bytes"));
    let mut v = b"\x93NUMPY\x02\x00".to_vec();
    v.extend_from_slice(&20_000u32.to_le_bytes());
    v.resize(v.len() + 20_000, b' ');
    assert!(err(&v).contains("exceeds numpy's limit of 10000 bytes"));
    // A shape whose element count overflows, and one larger than the data.
    let e = err(&file(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 8), }",
        &[],
    ));
    assert!(e.contains("more elements than memory can address"), "{e}");
    let e = err(&file(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }",
        &[0; 8],
    ));
    assert!(
        e.contains("needs 8000000000000 bytes of data, the file has 8"),
        "{e}"
    );
    let e = err(&file(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
        &[],
    ));
    assert!(e.contains("is too large"), "{e}");
    // Truncated data, and trailing bytes.
    assert!(err(&ok[..ok.len() - 1]).contains("needs 48 bytes of data, the file has 47"));
    let mut v = ok.clone();
    v.push(0);
    assert!(err(&v).contains("the file has 49"));
    // Non-ASCII header.
    let mut v = ok.clone();
    v[12] = 0xff;
    assert!(err(&v).contains("not ASCII"));
}

#[test]
fn header_grammar_is_checked() {
    let d = [0u8; 8];
    let cases = [
        ("{'descr': '<f8', 'fortran_order': False, }", "lacks one of"),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}",
            "unexpected header key 'x'",
        ),
        (
            "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}",
            "'descr' appears twice",
        ),
        (
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}",
            "expected True or False",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1)}",
            "'(n)' is not a tuple",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
            "non-negative integer",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': [1]}",
            "expected '('",
        ),
        (
            "{'descr': '<f8, 'fortran_order': False, 'shape': (1,)}",
            "expected '}'",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)",
            "expected '}'",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} x",
            "unexpected text after",
        ),
        (
            "{'descr': 'a\\b', 'fortran_order': False, 'shape': (1,)}",
            "escapes",
        ),
        ("{'descr': '<f8", "unterminated string"),
        ("['descr']", "expected '{'"),
    ];
    for (header, want) in cases {
        let e = err(&file(header, &d));
        assert!(e.contains(want), "{header}: {e}");
    }
    // What Python accepts, so do we: double quotes, no trailing comma,
    // Python 2's `L`, any key order, Fortran order of a 1-D array (which is
    // also C order).
    for header in [
        "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (1,)}",
        "{'shape': (1L,), 'fortran_order': True, 'descr': '<f8'}",
        "{'descr':'<f8','fortran_order':False,'shape':(1, 1,),}",
    ] {
        let t = parse_npy::<f64>(&file(header, &d), "x").unwrap();
        assert_eq!(t.len(), 1, "{header}");
    }
}

#[test]
fn too_many_dimensions_to_write_is_an_error() {
    let t = Tensor::<f32>::zeros(&[1; 4000]).unwrap();
    let e = npy_bytes(&t).unwrap_err();
    assert!(
        e.to_string()
            .contains("4000 dimensions make a header past numpy's 10000-byte limit"),
        "{e}"
    );
    // The largest that fits is read back.
    let t = Tensor::<f32>::zeros(&[1; 3000]).unwrap();
    assert_eq!(parse_npy::<f32>(&npy_bytes(&t).unwrap(), "x").unwrap(), t);
}

#[test]
fn dataset_from_npy_pairs_features_and_labels() {
    let d = Dataset::<f64>::from_npy(fixture_path("u8_pixels.npy"), fixture_path("f64_2x3.npy"));
    // Features [3, 4] and targets [2, 3]: the row counts differ.
    assert!(matches!(d, Err(Error::ShapeMismatch { .. })), "{d:?}");
    let e = Dataset::<f64>::from_npy(fixture_path("f32_vec.npy"), fixture_path("f32_vec.npy"))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidShape { .. }), "{e}");
    let e = Dataset::<f64>::from_npy(fixture_path("f64_2x3.npy"), fixture_path("missing.npy"))
        .unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    let x = fixture_path("f32_2x3x4.npy");
    let e = Dataset::<f32>::from_npy(&x, fixture_path("f32_vec.npy")).unwrap_err();
    assert!(e.to_string().contains("2×3×4"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any corruption of a valid file is an error or a tensor, never a panic,
    /// and a tensor is only ever as large as the data the file holds.
    #[test]
    fn corrupt_files_never_panic(
        edits in prop::collection::vec((0usize..400, any::<u8>()), 1..8),
        cut in 0usize..400,
    ) {
        for name in ["f64_2x3.npy", "f32_2x3x4.npy", "i64_labels.npy"] {
            let mut bytes = fixture(name);
            for &(at, b) in &edits {
                let at = at % bytes.len();
                bytes[at] = b;
            }
            let cut = cut.min(bytes.len());
            for b in [&bytes[..], &bytes[..cut]] {
                if let Ok(t) = parse_npy::<f32>(b, name) {
                    prop_assert!(t.len() <= b.len());
                }
            }
        }
    }
}
