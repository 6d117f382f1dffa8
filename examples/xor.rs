//! XOR, the classic problem a single layer cannot solve: a 2-4-1 network
//! learns it with plain gradient descent written by hand, so every step of
//! training is visible: forward, loss, backward, and `w ← w − lr·∂L/∂w`.
//!
//! Run with `cargo run --release --example xor`.

use rand::{SeedableRng, rngs::StdRng};
use weightwise::loss::Loss;
use weightwise::prelude::*;

fn main() -> weightwise::Result<()> {
    let mut rng = StdRng::seed_from_u64(7);
    let x = Tensor::from_rows(&[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])?;
    let y = Tensor::from_rows(&[[0.0], [1.0], [1.0], [0.0]])?;

    // Two inputs, four tanh units, one output logit (the sigmoid lives in the loss).
    let mut net = Network::<f64>::builder(2)
        .dense(4, Init::xavier_uniform_gain(5.0 / 3.0))
        .tanh()
        .dense(1, Init::xavier_uniform())
        .build(&mut rng)?;
    println!("{net}\n");

    let loss = Loss::binary_cross_entropy();
    let lr = 0.5;
    for epoch in 0..=2000 {
        let value = net.compute_gradients(&x, &y, &loss)?;
        // Plain gradient descent: every weight moves against its gradient.
        net.visit_params_mut(&mut |_, p| {
            p.value
                .axpy(-lr, &p.grad)
                .expect("a gradient has its parameter's shape");
        });
        if epoch % 250 == 0 {
            println!("epoch {epoch:>4}  loss {value:.5}");
        }
    }

    let logits = net.predict(&x)?;
    let mut correct = 0;
    println!("\n x1  x2  target  p(1)");
    for i in 0..4 {
        let p = 1.0 / (1.0 + (-logits[[i, 0]]).exp());
        correct += usize::from((p > 0.5) == (y[[i, 0]] > 0.5));
        println!(
            "{:>3} {:>3} {:>7} {:>6.3}",
            x[[i, 0]],
            x[[i, 1]],
            y[[i, 0]],
            p
        );
    }
    println!("accuracy {}/4\n", correct);

    for (name, p) in net.named_params() {
        println!("{name} = {:.3}\n", p.value);
    }
    Ok(())
}
