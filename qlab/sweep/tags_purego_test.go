//go:build purego

package sweep

// buildTags are the build tags of this test binary (see buildQlab).
const buildTags = "purego"
