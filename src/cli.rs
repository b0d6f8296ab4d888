//! Command-line interface (placeholder while the engine lands).
pub fn run() -> i32 {
    0
}
