// The two backends behind hyp/gic_host.hpp (gic_host.cpp picks one at
// init_gic_host): gic_host_v3.cpp (Distributor with affinity routing,
// Redistributors, ICC_* system registers) and gic_host_v2.cpp (memory-mapped
// GICD and GICC). Each function has the contract of its gic_* namesake in
// hyp/gic_host.hpp; the front end has already checked readiness and INTID
// ranges. EL2-only.
#pragma once

#include <cstdint>

#include "hyp/gic_host.hpp"

namespace lamina::hyp {

namespace gic_v3 {
bool init(const GicDesc& gic);
bool init_cpu(uint64_t mpidr);
[[nodiscard]] uint32_t acknowledge();
void priority_drop(uint32_t intid);
void deactivate(uint32_t intid);
void send_sgi(uint64_t mpidr, uint32_t sgi);
void spi_enable(uint32_t intid, uint64_t mpidr, bool edge);
void spi_disable(uint32_t intid);
}  // namespace gic_v3

namespace gic_v2 {
bool init(const GicDesc& gic);
bool init_cpu(uint64_t mpidr);
[[nodiscard]] uint32_t acknowledge();
void priority_drop(uint32_t intid);
void deactivate(uint32_t intid);
void send_sgi(uint64_t mpidr, uint32_t sgi);
void spi_enable(uint32_t intid, uint64_t mpidr, bool edge);
void spi_disable(uint32_t intid);
void resample();
void watch(bool hw_loaded);
}  // namespace gic_v2

}  // namespace lamina::hyp
