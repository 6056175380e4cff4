-- doc-check.lua DOC: every function of the module, method of a machine or
-- a VM, and field a machine, a VM or m.regs answers, is in docs/lua.md.
local doc = assert(io.open(arg[1])):read("a")
local missing = 0
local function need(text)
	if not doc:find(text, 1, true) then
		print("missing from docs/lua.md: " .. text)
		missing = missing + 1
	end
end
for name in pairs(nestlab) do
	if type(nestlab[name]) == "function" then need("nestlab." .. name) end
end
local reg = debug.getregistry()
for name in pairs(reg["nestlab.machine"].methods) do need("m:" .. name .. "(") end
for name in pairs(reg["nestlab.vm"].methods) do need("vm:" .. name .. "(") end
for name in pairs(reg["nestlab.serial"].__index) do need("m.com1:" .. name .. "(") end
for name in pairs(reg["nestlab.vga"].__index) do need("m.vga:" .. name .. "(") end
-- The fields, as the binding answers them on a small machine.
local m = nestlab.machine{rom = arg[2], serial = "none"}
for _, f in ipairs{"icount", "cycles", "time_ns", "stopped", "exit_status", "post_code",
                   "regs", "com1", "com2", "vga"} do
	local ok = pcall(function() return m[f] end)
	assert(ok, "the machine has no field " .. f)
	need("m." .. f)
end
local ok = pcall(function() return m.nosuchfield end)
assert(not ok, "an unknown field is an error")
for name in pairs(m.regs) do need("`" .. name .. "`") end
print(("%d missing"):format(missing))
return missing == 0 and 0 or 1
