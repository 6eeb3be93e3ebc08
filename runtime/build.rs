//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds the
//! migration files at compile time and cannot watch them itself on stable Rust.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
