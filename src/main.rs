fn main() {
    println!("kmod-ready skeleton");
}
