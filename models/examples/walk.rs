use stateright::Model;
use synod_models::*;
fn main() {
    let mut cfg = ModelCfg::new(3, 1, NetworkKind::UnorderedDuplicating);
    let m = model(&cfg).unwrap();
    let _ = &mut cfg;
    let mut s = m.init_states().pop().unwrap();
    let mut x: u64 = std::env::args().nth(1).map(|a| a.parse().unwrap()).unwrap_or(7);
    let mut acts = Vec::new();
    for step in 0..400 {
        acts.clear();
        m.actions(&s, &mut acts);
        if acts.is_empty() { println!("stuck at {step}"); break; }
        // try actions at random until one yields a new state
        let mut done = false;
        for _ in 0..50 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let a = acts[(x >> 33) as usize % acts.len()].clone();
            if let Some(n) = m.next_state(&s, a.clone()) {
                if step > 380 { println!("{step}: {}", m.format_action(&a)); }
                s = n; done = true; break;
            }
        }
        if !done { println!("no progress at {step}"); break; }
    }
    for (i, a) in s.actor_states.iter().enumerate() { println!("actor {i}: {:?}", a); }
    println!("storages: {:?}", s.actor_storages);
    println!("network len {}", s.network.len());
}
