-- pandoc Lua filter that turns the markdown sources of docs/man/ into man
-- pages (mk/man.mk runs it; pandoc 2.17, Debian 12).
--
-- 1. `<!-- man-include: FILE NAME -->` is replaced by the text of FILE
--    (relative to the source's folder) between `<!-- man-begin: NAME -->`
--    and `<!-- man-end: NAME -->`, its headings shifted so that its first
--    one is a section (.SH). So the README's configuration reference, say,
--    is written once and read both on GitHub and with `man`.
-- 2. Tables become definition lists (.TP): the first column is the term,
--    the middle columns a line "header: value; ...", the last column the
--    text. A 4-column table does not fit in 80 columns of a terminal; a
--    key reference reads better as a list anyway.
-- 3. Level-1 headings are upper case, as man pages have them; relative
--    links (to files of the source tree) keep only their text.

local function dirname(path)
  return path:match('^(.*)/[^/]*$') or '.'
end

local srcdir = dirname(PANDOC_STATE.input_files[1] or '.')

local function read_region(file, name)
  local f = io.open(srcdir .. '/' .. file, 'r')
  if not f then
    error('man.lua: cannot read ' .. srcdir .. '/' .. file)
  end
  local text = f:read('a')
  f:close()
  local b = '<!%-%- man%-begin: ' .. name:gsub('%p', '%%%0') .. ' %-%->\n'
  local e = '<!%-%- man%-end: ' .. name:gsub('%p', '%%%0') .. ' %-%->'
  local _, from = text:find(b)
  local to = text:find(e, from or 1)
  if not from or not to then
    error('man.lua: ' .. file .. ' has no region "' .. name .. '" (man-begin/man-end comments)')
  end
  return text:sub(from + 1, to - 1)
end

local function include(el)
  if el.format ~= 'html' then
    return nil
  end
  local file, name = el.text:match('^<!%-%- man%-include: (%S+) (%S+) %-%->%s*$')
  if not file then
    return nil
  end
  local doc = pandoc.read(read_region(file, name), 'gfm')
  local top
  for _, b in ipairs(doc.blocks) do
    if b.t == 'Header' then
      top = top and math.min(top, b.level) or b.level
    end
  end
  local shift = top and (top - 1) or 0
  return doc.blocks:walk({
    Header = function(h)
      h.level = math.max(1, h.level - shift)
      return h
    end,
  })
end

local function cell_inlines(blocks)
  local out = pandoc.List()
  for i, b in ipairs(blocks) do
    if i > 1 then
      out:insert(pandoc.Space())
    end
    if b.content then
      out:extend(b.content)
    end
  end
  return out
end

local function table_to_list(tbl)
  local s = pandoc.utils.to_simple_table(tbl)
  local n = #s.headers
  local items = {}
  for _, row in ipairs(s.rows) do
    local def = pandoc.List()
    if n > 2 then
      local line = pandoc.List()
      for c = 2, n - 1 do
        if #row[c] > 0 then
          if #line > 0 then
            line:extend({ pandoc.Str(';'), pandoc.Space() })
          end
          line:insert(pandoc.Emph(cell_inlines(s.headers[c])))
          line:extend({ pandoc.Str(':'), pandoc.Space() })
          line:extend(cell_inlines(row[c]))
        end
      end
      def:insert(pandoc.Para(line))
    end
    if n > 1 then
      def:insert(pandoc.Para(cell_inlines(row[n])))
    end
    table.insert(items, { cell_inlines(row[1]), { def } })
  end
  return pandoc.DefinitionList(items)
end

return {
  { RawBlock = include },
  {
    Table = table_to_list,
    Header = function(h)
      if h.level == 1 then
        h.content = h.content:walk({
          Str = function(s) return pandoc.Str(pandoc.text.upper(s.text)) end,
        })
      end
      return h
    end,
    Link = function(l)
      if not l.target:match('^%a[%w+.-]*:') then
        return l.content
      end
    end,
  },
}
