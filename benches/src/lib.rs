//! Benchmark inputs shared by idflow's criterion benchmarks (`benches/benches/*.rs`) and the
//! peer scripts in `benches/peers/`, so that both measure exactly the same work.
