//! Linearizability checking of any system's histories (Wing & Gong, Lowe, P-compositionality).
