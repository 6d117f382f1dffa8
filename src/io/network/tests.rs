use std::collections::BTreeMap;

use rand::{SeedableRng, rngs::StdRng};

use super::*;
use crate::Error;
use crate::init::Init;
use crate::io::safetensors::to_bytes;

fn net<T: Scalar>(seed: u64) -> Network<T> {
    Network::<T>::builder(3)
        .dense(4, Init::he_normal())
        .batch_norm()
        .relu()
        .dense(2, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(seed))
        .unwrap()
}

fn snapshot<T: Scalar>(n: &Network<T>) -> Vec<(String, Tensor<T>)> {
    n.named_tensors()
        .into_iter()
        .map(|(k, t)| (k, t.clone()))
        .collect()
}

/// The tensors of `net(seed)` with `edit` applied, as safetensors bytes.
fn file_with<T: Scalar>(seed: u64, edit: impl FnOnce(&mut Vec<(String, Tensor<T>)>)) -> Vec<u8> {
    let mut tensors = snapshot(&net::<T>(seed));
    edit(&mut tensors);
    let refs: Vec<(String, &Tensor<T>)> = tensors.iter().map(|(n, t)| (n.clone(), t)).collect();
    to_bytes(&refs, Some(&network_metadata())).unwrap()
}

/// Loads `bytes` into `net(1)`, expects a Format error, checks the network
/// is unchanged, and returns the reason.
fn load_error<T: Scalar>(bytes: &[u8], opts: &LoadOptions) -> String {
    let mut n = net::<T>(1);
    let before = snapshot(&n);
    let e = n.load_safetensors_bytes(bytes, opts).unwrap_err();
    assert_eq!(snapshot(&n), before, "a failed load changed the network");
    match e {
        Error::Format {
            source_name,
            reason,
        } => {
            assert_eq!(source_name, "safetensors bytes");
            reason
        }
        other => panic!("expected a Format error, got {other}"),
    }
}

macro_rules! network_tests {
    ($($m:ident: $t:ty, $other:ty, $dtype:literal, $other_dtype:literal;)*) => {$(
        mod $m {
            use super::*;

            #[test]
            fn round_trip_through_bytes_and_files() {
                let a = net::<$t>(1);
                let names: Vec<String> = a.named_tensors().into_iter().map(|(n, _)| n).collect();
                assert_eq!(
                    names,
                    ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "3.weight", "3.bias"]
                );
                let mut b = net::<$t>(2);
                assert_ne!(snapshot(&a), snapshot(&b));
                b.load_safetensors_bytes(&a.to_safetensors_bytes().unwrap(), &LoadOptions::default()).unwrap();
                assert_eq!(snapshot(&a), snapshot(&b));

                let dir = std::env::temp_dir().join(format!("ww-net-{}-{}", stringify!($m), std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join("net.safetensors");
                let c = net::<$t>(3);
                c.save_safetensors(&path).unwrap();
                b.load_safetensors(&path).unwrap();
                assert_eq!(snapshot(&b), snapshot(&c));
                let (_, meta) = crate::io::load_tensors::<$t>(&path).unwrap();
                assert_eq!(meta["format"], "pt");
                assert_eq!(meta["weightwise_version"], env!("CARGO_PKG_VERSION"));
                std::fs::remove_dir_all(&dir).unwrap();
            }

            #[test]
            fn a_missing_tensor_is_named() {
                let bytes = file_with::<$t>(2, |v| v.retain(|(n, _)| n != "3.weight" && n != "1.running_var"));
                let r = load_error::<$t>(&bytes, &LoadOptions::default());
                assert_eq!(r, "missing from the file: '1.running_var', '3.weight'");
            }

            #[test]
            fn an_extra_tensor_is_named() {
                let bytes = file_with::<$t>(2, |v| v.push(("4.weight".to_string(), Tensor::zeros(&[1]).unwrap())));
                let r = load_error::<$t>(&bytes, &LoadOptions::default());
                assert_eq!(r, "in the file but not in the network: '4.weight'");
            }

            #[test]
            fn a_wrong_shape_is_described() {
                let bytes = file_with::<$t>(2, |v| v[0].1 = Tensor::zeros(&[3, 4]).unwrap());
                let r = load_error::<$t>(&bytes, &LoadOptions::default());
                assert_eq!(r, "'0.weight' has shape 3×4 in the file, 4×3 in the network");
                // Strict or not, a wrong shape is an error.
                let opts = LoadOptions { strict: false, allow_dtype_conversion: true, ..Default::default() };
                assert_eq!(load_error::<$t>(&bytes, &opts), r);
            }

            #[test]
            fn the_other_float_type_needs_dtype_conversion() {
                let src = net::<$other>(2);
                let bytes = src.to_safetensors_bytes().unwrap();
                let r = load_error::<$t>(&bytes, &LoadOptions::default());
                assert!(
                    r.starts_with(concat!("'0.weight' is ", $other_dtype, " in the file, ", $dtype, " is wanted")),
                    "{r}"
                );
                // Every tensor is listed, one problem each.
                assert_eq!(r.matches("is wanted").count(), 8, "{r}");
                let mut n = net::<$t>(1);
                let opts = LoadOptions { allow_dtype_conversion: true, ..Default::default() };
                n.load_safetensors_bytes(&bytes, &opts).unwrap();
                for ((na, a), (nb, b)) in snapshot(&n).iter().zip(snapshot(&src)) {
                    assert_eq!(*na, nb);
                    assert_eq!(*a, b.cast::<$t>());
                }
            }

            #[test]
            fn every_problem_is_listed_at_once() {
                let bytes = file_with::<$t>(2, |v| {
                    v.remove(1); // 0.bias
                    v[0].1 = Tensor::zeros(&[2]).unwrap(); // 0.weight
                    v.push(("9.x".to_string(), Tensor::zeros(&[1]).unwrap()));
                });
                let r = load_error::<$t>(&bytes, &LoadOptions::default());
                assert_eq!(
                    r,
                    "missing from the file: '0.bias'; '0.weight' has shape 2 in the file, 4×3 in the network; \
                     in the file but not in the network: '9.x'"
                );
            }

            #[test]
            fn non_strict_loading_skips_missing_and_extra_tensors() {
                let src = net::<$t>(2);
                let bytes = file_with::<$t>(2, |v| {
                    v.retain(|(n, _)| n.starts_with('3'));
                    v.push(("7.weight".to_string(), Tensor::zeros(&[1]).unwrap()));
                });
                let mut n = net::<$t>(1);
                let before = snapshot(&n);
                n.load_safetensors_bytes(&bytes, &LoadOptions { strict: false, ..Default::default() }).unwrap();
                for ((name, now), (_, old)) in snapshot(&n).iter().zip(&before) {
                    let want = if name.starts_with('3') { src.tensor(name).unwrap() } else { old };
                    assert_eq!(now, want, "{name}");
                }
            }

            #[test]
            fn truncated_files_fail_and_leave_the_network_unchanged() {
                let bytes = net::<$t>(2).to_safetensors_bytes().unwrap();
                for cut in [0, 7, 8, 20, bytes.len() / 2, bytes.len() - 1] {
                    let r = load_error::<$t>(&bytes[..cut], &LoadOptions::default());
                    assert!(!r.is_empty());
                }
            }
        }
    )*};
}

network_tests! {
    f32_tests: f32, f64, "F32", "F64";
    f64_tests: f64, f32, "F64", "F32";
}

fn i64_scalar(name: &str, value: i64) -> Vec<u8> {
    // A file with one I64 scalar, written by hand: 8 data bytes.
    let header = format!(r#"{{"{name}":{{"dtype":"I64","shape":[],"data_offsets":[0,8]}}}}"#);
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(&value.to_le_bytes());
    v
}

/// `file_with(2)` plus one extra entry spliced in from another file.
fn with_extra(extra: &[u8]) -> Vec<u8> {
    let (entries, _) = parse(extra, "extra").unwrap();
    let e = &entries[0];
    // The network's file, re-encoded by hand with the extra entry last.
    let base = net::<f32>(2).to_safetensors_bytes().unwrap();
    let (base_entries, meta) = parse(&base, "base").unwrap();
    let mut header = String::from("{");
    let mut data = Vec::new();
    for b in base_entries.iter().chain(std::iter::once(e)) {
        let shape: Vec<String> = b.shape.iter().map(|d| d.to_string()).collect();
        header.push_str(&format!(
            r#""{}":{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}},"#,
            b.name,
            b.dtype,
            shape.join(","),
            data.len(),
            data.len() + b.data.len()
        ));
        data.extend_from_slice(b.data);
    }
    let meta: BTreeMap<String, String> = meta;
    header.push_str(&format!(
        r#""__metadata__":{{"format":"{}"}}}}"#,
        meta["format"]
    ));
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(&data);
    v
}

#[test]
fn pytorchs_num_batches_tracked_is_accepted_for_batch_norm_layers_only() {
    // Layer 1 is the batch norm: its counter is accepted and ignored.
    let bytes = with_extra(&i64_scalar("1.num_batches_tracked", 12));
    let mut n = net::<f32>(1);
    n.load_safetensors_bytes(&bytes, &LoadOptions::default())
        .unwrap();
    assert_eq!(snapshot(&n), snapshot(&net::<f32>(2)));
    // Layer 0 is dense: the same name there is an unknown tensor.
    let bytes = with_extra(&i64_scalar("0.num_batches_tracked", 12));
    let r = load_error::<f32>(&bytes, &LoadOptions::default());
    assert_eq!(
        r,
        "in the file but not in the network: '0.num_batches_tracked'"
    );
    // Not PyTorch's I64 scalar: an error naming what it is.
    let header = r#"{"1.num_batches_tracked":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    let mut odd = (header.len() as u64).to_le_bytes().to_vec();
    odd.extend_from_slice(header.as_bytes());
    odd.extend_from_slice(&[0; 8]);
    let r = load_error::<f32>(&with_extra(&odd), &LoadOptions::default());
    assert_eq!(
        r,
        "'1.num_batches_tracked' is F32 of shape 2, PyTorch's is an I64 scalar"
    );
}

#[test]
fn load_errors_name_the_path() {
    let dir = std::env::temp_dir().join(format!("ww-net-path-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("nope.safetensors");
    let mut n = net::<f64>(1);
    let before = snapshot(&n);
    match n.load_safetensors(&missing) {
        Err(Error::Io { path, source }) => {
            assert_eq!(path, missing.display().to_string());
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    let corrupt = dir.join("corrupt.safetensors");
    std::fs::write(&corrupt, b"\x0f\0\0\0\0\0\0\0{\"a\": nonsense}").unwrap();
    match n.load_safetensors(&corrupt) {
        Err(Error::Format {
            source_name,
            reason,
        }) => {
            assert_eq!(source_name, corrupt.display().to_string());
            assert!(reason.starts_with("invalid header"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&n), before);
    let e = n
        .save_safetensors(dir.join("no-such-dir").join("x.safetensors"))
        .unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
