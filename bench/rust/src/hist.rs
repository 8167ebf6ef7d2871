//! A latency histogram with 1 ns buckets up to 1 ms (exact values above): cheap
//! enough to record every call of a 20 ns operation.

pub struct Hist {
    counts: Vec<u32>,
    over: Vec<u64>,
    n: u64,
    max: u64,
}

const LIMIT: usize = 1_000_000;

impl Hist {
    pub fn new() -> Hist {
        Hist { counts: vec![0; LIMIT], over: Vec::new(), n: 0, max: 0 }
    }

    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.n += 1;
        self.max = self.max.max(ns);
        match self.counts.get_mut(ns as usize) {
            Some(c) => *c += 1,
            None => self.over.push(ns),
        }
    }

    pub fn merge(&mut self, other: &Hist) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += *b;
        }
        self.over.extend_from_slice(&other.over);
        self.n += other.n;
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// Calls slower than `ns`.
    pub fn above(&self, ns: u64) -> u64 {
        let small: u64 = self.counts.iter().skip(ns as usize + 1).map(|&c| c as u64).sum();
        small + self.over.iter().filter(|&&v| v > ns).count() as u64
    }

    /// The `p` quantile in ns (nearest rank).
    pub fn quantile(&self, p: f64) -> u64 {
        let rank = ((p * self.n as f64).ceil() as u64).clamp(1, self.n.max(1));
        let mut seen = 0u64;
        for (ns, &c) in self.counts.iter().enumerate() {
            seen += c as u64;
            if seen >= rank {
                return ns as u64;
            }
        }
        let mut over = self.over.clone();
        over.sort_unstable();
        over.get((rank - seen - 1) as usize).copied().unwrap_or(self.max)
    }
}
