// Package peers measures docingest against the splitters users would otherwise pick, in
// the same process on the same text. It is a separate module so that the peers never
// become dependencies of docingest. Run it through ../recursive.sh.
package peers
