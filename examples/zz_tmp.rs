use std::time::Instant;
use weightwise::prelude::*;
use weightwise::rand::{SeedableRng, rngs::StdRng};
fn main() {
    let mut rng = StdRng::seed_from_u64(42);
    let (train, _test) = datasets::digits::<f32>().unwrap();
    let mut net = Network::<f32>::builder(64)
        .dense(128, Init::he_normal())
        .relu()
        .dense(64, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    let probe = train.features().rows(0..256).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        net.audit_init(&probe).unwrap();
        println!("audit {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        net.activation_report(&probe, 1).unwrap();
        println!("actrep {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let _ = net.forward(&probe, Mode::Eval).unwrap();
        println!("fwd {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let _ = net.weight_report();
        println!("wr {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
    }
}
