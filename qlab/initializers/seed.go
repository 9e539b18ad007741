package initializers

// SeedFor derives the seed for one named parameter from a model seed: a
// 64-bit FNV-1a hash of the seed's eight little-endian bytes followed by the
// name, passed through the splitmix64 finalizer. It depends only on (seed,
// name), so a layer's weights do not change when layers are added, removed
// or initialized in another order, and it is the same on every platform.
func SeedFor(seed uint64, name string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < 8; i++ {
		h ^= (seed >> (8 * i)) & 0xff
		h *= prime
	}
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= prime
	}
	return splitmix64(h)
}

// splitmix64 is the finalizer of Steele, Lea & Flood's SplitMix64: a
// bijection that spreads every input bit over the output.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
