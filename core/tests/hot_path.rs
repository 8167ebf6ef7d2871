//! The cache-hit path allocates nothing, takes no lock that waits on I/O and
//! never enters the runtime: proven with a counting allocator and the client's
//! own counters.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(|c| c.get())
}

#[test]
fn cache_hits_allocate_nothing_and_never_touch_the_runtime() {
    let server = synapse_reference_server::start_blocking(synapse_reference_server::ServerConfig::dev()).unwrap();
    let client = synapse_auth_core::BlockingClient::new(common::blocking_config(&server)).unwrap();
    let first = client.get_token().unwrap();
    let async_client = client.async_client().clone();
    let hits_before = client.stats().cache_hits;

    let before = allocations();
    for _ in 0..10_000 {
        let token = async_client.cached_token().expect("cached");
        assert_eq!(token.id(), first.id());
    }
    for _ in 0..10_000 {
        let token = client.get_token().unwrap();
        assert_eq!(token.id(), first.id());
    }
    let allocated = allocations() - before;
    assert_eq!(allocated, 0, "the cache-hit path allocated {allocated} times");
    assert_eq!(client.stats().cache_hits - hits_before, 20_000);
    assert_eq!(client.stats().cache_misses, 1, "only the cold start missed");
    assert_eq!(server.counters().token_requests.total, 1);
    server.shutdown();
}
