-- trace.lua KERNEL DISK N: the registers before each of N steps, in the
-- format of nestlab-run --trace-cpu.
local kernel, disk, n = ...
local m = nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none"}
local line = "%d eip=%08x eax=%08x ecx=%08x edx=%08x ebx=%08x esp=%08x ebp=%08x " ..
             "esi=%08x edi=%08x efl=%08x cs=%04x ss=%04x ds=%04x es=%04x fs=%04x gs=%04x " ..
             "cr0=%08x cr2=%08x cr3=%08x cr4=%08x cpl=%d\n"
for _ = 1, tonumber(n) do
	local r = m.regs
	io.write(line:format(r.icount, r.eip, r.eax, r.ecx, r.edx, r.ebx, r.esp, r.ebp, r.esi,
	                     r.edi, r.eflags, r.cs, r.ss, r.ds, r.es, r.fs, r.gs, r.cr0, r.cr2,
	                     r.cr3, r.cr4, r.cpl))
	assert(m:step() == "limit")
end
