use super::*;
use proptest::prelude::*;

/// A file from a literal JSON header and a data buffer (no padding).
fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

fn format_reason(r: Result<(NamedTensors<f32>, Metadata)>) -> String {
    match r {
        Err(Error::Format {
            source_name,
            reason,
        }) => {
            assert_eq!(source_name, "safetensors bytes");
            reason
        }
        other => panic!("expected a Format error, got {other:?}"),
    }
}

fn sample<T: Scalar>() -> Vec<(String, Tensor<T>)> {
    let f = T::from_f64;
    vec![
        (
            "0.weight".to_string(),
            Tensor::from_vec(
                vec![f(1.5), f(-2.0), f(0.1), f(1e-30), f(3.0), f(-0.0)],
                &[2, 3],
            )
            .unwrap(),
        ),
        (
            "0.bias".to_string(),
            Tensor::from_slice(&[f(0.25), f(-7.0)]),
        ),
        ("scalar".to_string(), Tensor::scalar(f(42.0))),
        ("empty".to_string(), Tensor::zeros(&[0, 4]).unwrap()),
    ]
}

fn refs<T>(v: &[(String, Tensor<T>)]) -> Vec<(String, &Tensor<T>)> {
    v.iter().map(|(n, t)| (n.clone(), t)).collect()
}

macro_rules! round_trip_tests {
    ($($m:ident: $t:ty, $dtype:literal;)*) => {$(
        mod $m {
            use super::*;

            #[test]
            fn round_trip_is_exact_with_metadata() {
                let tensors = sample::<$t>();
                let meta = Metadata::from([("format".to_string(), "pt".to_string())]);
                let bytes = to_bytes(&refs(&tensors), Some(&meta)).unwrap();
                let (back, m) = from_bytes::<$t>(&bytes).unwrap();
                assert_eq!(m, meta);
                let mut want = tensors.clone();
                want.sort_by(|a, b| a.0.cmp(&b.0));
                // File order is by name; every value comes back bit for bit.
                assert_eq!(back, want);
                for ((_, a), (_, b)) in back.iter().zip(&want) {
                    let bits = |t: &Tensor<$t>| t.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(a), bits(b));
                }
            }

            #[test]
            fn header_names_the_dtype_and_layout() {
                let t = Tensor::<$t>::from_slice(&[1.0, 2.0]);
                let bytes = to_bytes(&[("a".to_string(), &t)], None).unwrap();
                let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
                let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
                let width = std::mem::size_of::<$t>();
                assert!(header.contains(concat!("\"dtype\":\"", $dtype, "\"")), "{header}");
                assert!(header.contains(&format!("\"data_offsets\":[0,{}]", 2 * width)), "{header}");
                assert!(!header.contains("__metadata__"));
                // The header is padded to a multiple of 8, and the data is little-endian.
                assert_eq!(n % 8, 0);
                assert_eq!(&bytes[8 + n..8 + n + width], &(1.0 as $t).to_le_bytes());
                let (_, meta) = from_bytes::<$t>(&bytes).unwrap();
                assert!(meta.is_empty());
            }

            #[test]
            fn files_round_trip() {
                let dir = std::env::temp_dir().join(format!("ww-st-{}-{}", stringify!($m), std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join("t.safetensors");
                let tensors = sample::<$t>();
                save_tensors(&path, &refs(&tensors), None).unwrap();
                // Saving again replaces the file whole; no temporary is left behind.
                save_tensors(&path, &refs(&tensors[..1]), None).unwrap();
                let (back, _) = load_tensors::<$t>(&path).unwrap();
                assert_eq!(back, tensors[..1].to_vec());
                assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
                std::fs::remove_dir_all(&dir).unwrap();
            }
        }
    )*};
}

round_trip_tests! {
    f32_tests: f32, "F32";
    f64_tests: f64, "F64";
}

#[test]
fn the_wrong_dtype_is_an_error_naming_the_tensor() {
    let bytes = to_bytes(&refs(&sample::<f32>()), None).unwrap();
    let e = from_bytes::<f64>(&bytes).unwrap_err();
    assert!(
        e.to_string().contains("is F32 in the file, F64 is wanted"),
        "{e}"
    );
    let bytes = to_bytes(&refs(&sample::<f64>()), None).unwrap();
    let r = format_reason(from_bytes::<f32>(&bytes));
    assert!(r.contains("is F64 in the file, F32 is wanted"), "{r}");
}

#[test]
fn half_precision_and_bfloat16_convert_exactly() {
    // binary16 by hand: 0x3C00 = 1.0, 0xC000 = −2.0, 0x7BFF = 65504 (largest),
    // 0x0001 = 2⁻²⁴ (smallest subnormal), 0x0400 = 2⁻¹⁴ (smallest normal),
    // 0x3555 = (1 + 341/1024)·2⁻² = 0.333251953125, 0xFC00 = −∞.
    let bits: [u16; 7] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x3555, 0xFC00];
    let want = [
        1.0,
        -2.0,
        65504.0,
        2f64.powi(-24),
        2f64.powi(-14),
        0.333251953125,
        f64::NEG_INFINITY,
    ];
    for (b, w) in bits.iter().zip(want) {
        assert_eq!(f16_to_f64(*b), w, "{b:#06x}");
    }
    assert!(f16_to_f64(0x7E00).is_nan());
    assert_eq!(f16_to_f64(0x8000).to_bits(), (-0.0f64).to_bits());
    // bfloat16 is the top half of an f32: 0x3F80 = 1.0, 0xC040 = −3.0, 0x3E20 = 0.15625.
    assert_eq!(bf16_to_f64(0x3F80), 1.0);
    assert_eq!(bf16_to_f64(0xC040), -3.0);
    assert_eq!(bf16_to_f64(0x3E20), 0.15625);

    let data: Vec<u8> = [0x3C00u16, 0xC000]
        .iter()
        .flat_map(|b| b.to_le_bytes())
        .collect();
    let file = raw_file(
        r#"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#,
        &data,
    );
    let (entries, _) = parse(&file, "x").unwrap();
    assert!(
        decode::<f32>(&entries[0], &LoadOptions::default())
            .unwrap_err()
            .contains("is F16 in the file")
    );
    assert_eq!(
        decode::<f32>(&entries[0], &conv()).unwrap().as_slice(),
        &[1.0, -2.0]
    );
    let data = 0x3F80u16.to_le_bytes();
    let file = raw_file(
        r#"{"b":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}"#,
        &data,
    );
    let (entries, _) = parse(&file, "x").unwrap();
    assert_eq!(
        decode::<f64>(&entries[0], &conv()).unwrap().as_slice(),
        &[1.0]
    );
}

#[test]
fn integer_dtypes_are_never_converted() {
    let file = raw_file(
        r#"{"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}"#,
        &7i64.to_le_bytes(),
    );
    let (entries, _) = parse(&file, "x").unwrap();
    let e = decode::<f64>(&entries[0], &conv()).unwrap_err();
    assert!(
        e.contains("'n' is I64, which is not a floating-point dtype"),
        "{e}"
    );
}

#[test]
fn reserved_and_duplicate_names_are_refused() {
    let t = Tensor::<f32>::from_slice(&[1.0]);
    let e = to_bytes(&[("__metadata__".to_string(), &t)], None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                name: "tensor name",
                ..
            }
        ),
        "{e}"
    );
    let e = to_bytes(&[("a".to_string(), &t), ("a".to_string(), &t)], None).unwrap_err();
    assert!(
        e.to_string().contains("'a'") && e.to_string().contains("twice"),
        "{e}"
    );
}

#[test]
fn a_file_shorter_than_the_length_prefix_is_an_error() {
    for n in 0..8 {
        let r = format_reason(from_bytes::<f32>(&vec![0u8; n]));
        assert!(r.contains(&format!("{n} bytes is too short")), "{r}");
    }
}

#[test]
fn a_header_length_past_the_end_is_an_error() {
    let mut file = raw_file(
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        &[0; 4],
    );
    let len = file.len() as u64;
    for n in [len - 7, len, u64::MAX] {
        file[..8].copy_from_slice(&n.to_le_bytes());
        let r = format_reason(from_bytes::<f32>(&file));
        assert!(
            r.contains(&format!(
                "header length {n} is larger than the {} bytes",
                len - 8
            )),
            "{r}"
        );
    }
}

#[test]
fn truncation_anywhere_is_an_error() {
    let bytes = to_bytes(&refs(&sample::<f32>()), None).unwrap();
    for cut in 0..bytes.len() {
        let r = format_reason(from_bytes::<f32>(&bytes[..cut]));
        assert!(!r.is_empty(), "cut at {cut}");
    }
    // One byte too many is as wrong as one too few.
    let mut long = bytes.clone();
    long.push(0);
    let r = format_reason(from_bytes::<f32>(&long));
    assert!(r.contains("the file has"), "{r}");
}

#[test]
fn corrupt_headers_are_errors() {
    let four = [0u8; 4];
    let cases: [(&str, &[u8], &str); 9] = [
        ("{not json", &four, "key must be a string"),
        (
            r#"{"a":{"dtype":"F32","shape":[1]}}"#,
            &four,
            "tensor 'a': the entry has no \"data_offsets\"",
        ),
        (
            r#"{"a":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}"#,
            &four,
            "unknown variant `F99`",
        ),
        (r#"{"__metadata__":{"k":1}}"#, &[], "invalid type"),
        // Offsets past the data, overlapping, with a gap, or not matching the shape.
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            &four,
            "describes 8 bytes of data, the file has 4",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
            &[0; 6],
            "tensor 'b': its data [2, 6] overlaps tensor 'a', which ends at byte 4",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            &[0; 8],
            "tensor 'a': its data starts at byte 4, but nothing ends at byte 0",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
            &four,
            "tensor 'a': shape 2 of F32 needs 8 bytes, its data offsets [0, 4] hold 4",
        ),
        // A shape whose element count overflows is caught before any allocation.
        (
            r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}"#,
            &four,
            "needs more than usize::MAX bytes",
        ),
    ];
    for (header, data, want) in cases {
        let r = format_reason(from_bytes::<f32>(&raw_file(header, data)));
        assert!(r.contains(want), "{header}: {r}");
    }
    let mut bad_utf8 = raw_file("{\"a\":1}", &[]);
    bad_utf8[9] = 0xFF;
    assert!(format_reason(from_bytes::<f32>(&bad_utf8)).contains("UTF-8"));
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_path() {
    let path = std::env::temp_dir()
        .join("ww-no-such-dir-io")
        .join("missing.safetensors");
    match load_tensors::<f32>(&path) {
        Err(Error::Io { path: p, source }) => {
            assert_eq!(p, path.display().to_string());
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    let t = Tensor::<f32>::from_slice(&[1.0]);
    let e = save_tensors(&path, &[("a".to_string(), &t)], None).unwrap_err();
    assert!(
        matches!(&e, Error::Io { path: p, .. } if *p == path.display().to_string()),
        "{e}"
    );
    let e = save_tensors(std::path::Path::new("/"), &[("a".to_string(), &t)], None).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any corruption of a valid file gives `Ok` or an error, never a panic.
    #[test]
    fn corrupted_bytes_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = to_bytes(&refs(&sample::<f64>()), None).unwrap();
        for (i, b) in edits {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        let cut = cut.index(bytes.len() + 1);
        let _ = from_bytes::<f64>(&bytes[..cut]);
        let _ = from_bytes::<f32>(&bytes);
    }
}

/// Offsets whose total is near `usize::MAX`: 8 tensors of 2⁶¹ − 1 bytes
/// (each `U8` tensor's bit count, 8·(2⁶¹ − 1), just fits in a u64), ending at
/// 2⁶⁴ − 8. Adding the header length to that end overflows.
fn huge_offsets_file() -> Vec<u8> {
    let size: u64 = (1 << 61) - 1;
    let mut entries = Vec::new();
    for i in 0..8u64 {
        entries.push(format!(
            r#""t{i}":{{"dtype":"U8","shape":[{size}],"data_offsets":[{},{}]}}"#,
            i * size,
            (i + 1) * size
        ));
    }
    raw_file(&format!("{{{}}}", entries.join(",")), &[])
}

#[test]
fn offsets_summing_past_usize_max_are_an_error() {
    let r = format_reason(from_bytes::<f32>(&huge_offsets_file()));
    // The end offset is 2⁶⁴ − 8; the file has no data at all.
    assert!(
        r.contains("describes 18446744073709551608 bytes of data, the file has 0"),
        "{r}"
    );
}

#[test]
fn a_header_over_the_format_limit_is_an_error() {
    // 100 000 001 bytes of header (zeros, never parsed) after the prefix.
    let n: u64 = 100_000_001;
    let mut file = vec![0u8; 8 + n as usize];
    file[..8].copy_from_slice(&n.to_le_bytes());
    let r = format_reason(from_bytes::<f32>(&file));
    assert!(
        r.contains("exceeds the format's limit of 100000000 bytes"),
        "{r}"
    );
}

/// Dtype conversion allowed, nothing else changed.
fn conv() -> LoadOptions {
    LoadOptions {
        allow_dtype_conversion: true,
        ..Default::default()
    }
}

#[test]
fn duplicate_names_in_a_header_are_refused() {
    // serde_json keeps the last of two equal keys; the file is refused.
    let f = |x: f32| x.to_le_bytes();
    let data: Vec<u8> = [f(1.0), f(2.0)].concat();
    let header = r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
    let r = format_reason(from_bytes::<f32>(&raw_file(header, &data)));
    assert_eq!(r, "the header names 'w' twice");
    // Equal after JSON unescaping, and inside __metadata__ too.
    let header = r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
    let r = format_reason(from_bytes::<f32>(&raw_file(header, &data)));
    assert_eq!(r, "the header names 'w' twice");
    let header = r#"{"__metadata__":{"k":"a","k":"b"}}"#;
    let r = format_reason(from_bytes::<f32>(&raw_file(header, &[])));
    assert_eq!(r, "the header names 'k' twice");
    // A key equal to a string value elsewhere is no duplicate.
    let header =
        r#"{"__metadata__":{"k":"w"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    assert!(from_bytes::<f32>(&raw_file(header, &f(1.0))).is_ok());
}

#[test]
fn overflowing_conversions_and_non_finite_values_are_refused() {
    let wide = Tensor::from_slice(&[1.0f64, 1e300]);
    let bytes = to_bytes(&[("w".to_string(), &wide)], None).unwrap();
    let (entries, _) = parse(&bytes, "test").unwrap();
    let e = decode::<f32>(&entries[0], &conv()).unwrap_err();
    assert_eq!(
        e,
        "'w': element 1 = 1e300 overflows F32 (its largest value is 3.4028234663852886e38)"
    );
    // Even with non-finite values allowed: 1e300 is finite, its f32 is not.
    let all = LoadOptions {
        allow_non_finite: true,
        ..conv()
    };
    assert!(decode::<f32>(&entries[0], &all).is_err());
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let t = Tensor::from_slice(&[0.5f64, bad]);
        let bytes = to_bytes(&[("w".to_string(), &t)], None).unwrap();
        let r = format!("{}", from_bytes::<f64>(&bytes).unwrap_err());
        assert!(
            r.contains(&format!(
                "'w': element 1 is {bad} (LoadOptions::allow_non_finite"
            )),
            "{r}"
        );
        let (got, _) = from_bytes_with::<f64>(&bytes, &all).unwrap();
        assert_eq!(got[0].1.as_slice()[0], 0.5);
        assert_eq!(got[0].1.as_slice()[1].is_nan(), bad.is_nan());
    }
}
