//! Gives the shared library a SONAME (`libsynapse_auth.so.<major>.<minor>` while the
//! major version is 0, `libsynapse_auth.so.<major>` afterwards), so that programs
//! linked against it record that name rather than the path they were linked with.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "freebsd" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_else(|_| "0".into());
        let abi = if major == "0" { format!("0.{minor}") } else { major };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsynapse_auth.so.{abi}");
    }
}
