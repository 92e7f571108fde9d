package parse

import (
	"bytes"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode/utf32"

	xunicode "golang.org/x/text/encoding/unicode"
)

// Encoding detection, in order (the first rule that applies wins):
//
//  1. A byte-order mark: UTF-8, UTF-16 LE/BE, UTF-32 LE/BE. The BOM is dropped.
//  2. BOM-less UTF-16: in the first 8 KB, at least a quarter of the 16-bit
//     units have a NUL in one byte position and almost none in the other
//     (ASCII-heavy UTF-16, the common case; BOM-less UTF-16 of CJK text has
//     few NULs and is not detected).
//  3. A declared charset (HTML <meta charset>, XML encoding="..."), if the
//     WHATWG encoding index knows it and the bytes are not valid UTF-8 while
//     the declaration says UTF-8.
//  4. Valid UTF-8 (which includes ASCII) is taken as is.
//  5. Otherwise a scoring detector decodes a sample (up to 64 KB, cut at a
//     newline) with GB18030, Big5, Shift_JIS, EUC-JP, EUC-KR and
//     Windows-1252 and keeps the best score. Each decoded rune scores:
//     a replacement character (undecodable bytes) -20, a C0/C1 control or
//     private-use character -10, ASCII +1, one of the language's most
//     frequent characters +3, hiragana/katakana +2, other CJK ideographs or
//     Hangul syllables +0.5, half-width katakana -1, and any CJK character
//     right after a Latin letter -1 (accented Latin words misread as CJK
//     look like "Gr" + ideograph + "e"; real CJK text comes in runs).
//     Windows-1252 scores a non-ASCII letter +1 after an ASCII character and
//     -1 after another non-ASCII one: accented letters sit inside Latin
//     words, while CJK bytes read as Windows-1252 come in long runs of
//     accented letters. Ties go to
//     the earlier candidate. Windows-1252 decodes every byte, so text is never
//     rejected for its encoding.
//
// Whatever the path, the result is valid UTF-8: decoders substitute U+FFFD for
// bytes they cannot map, and a final pass replaces anything left.

// maxSample bounds the bytes the scoring detector decodes per candidate.
const maxSample = 64 << 10

// bomEncoding returns the encoding announced by a byte-order mark, or nil.
func bomEncoding(b []byte) encoding.Encoding {
	switch {
	case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
		return xunicode.UTF8BOM
	case bytes.HasPrefix(b, []byte("\xff\xfe\x00\x00")):
		return utf32.UTF32(utf32.LittleEndian, utf32.ExpectBOM)
	case bytes.HasPrefix(b, []byte("\x00\x00\xfe\xff")):
		return utf32.UTF32(utf32.BigEndian, utf32.ExpectBOM)
	case bytes.HasPrefix(b, []byte("\xff\xfe")):
		return xunicode.UTF16(xunicode.LittleEndian, xunicode.ExpectBOM)
	case bytes.HasPrefix(b, []byte("\xfe\xff")):
		return xunicode.UTF16(xunicode.BigEndian, xunicode.ExpectBOM)
	}
	return nil
}

// utf16Guess detects BOM-less UTF-16 by where the NUL bytes fall.
func utf16Guess(b []byte) (encoding.Encoding, string) {
	b = b[:min(len(b), sniffLen)]
	units := len(b) / 2
	if units < 2 {
		return nil, ""
	}
	var even, odd int
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 {
			even++
		}
		if b[i+1] == 0 {
			odd++
		}
	}
	switch {
	case odd*4 >= units && even*20 <= odd:
		return xunicode.UTF16(xunicode.LittleEndian, xunicode.IgnoreBOM), "utf-16le"
	case even*4 >= units && odd*20 <= even:
		return xunicode.UTF16(xunicode.BigEndian, xunicode.IgnoreBOM), "utf-16be"
	}
	return nil, ""
}

// candidate is an encoding the scoring detector tries.
type candidate struct {
	name   string
	enc    encoding.Encoding
	common string // the language's most frequent characters
}

// Frequent characters; a decoding that produces many of them is likely right.
const (
	commonHans = "的一是不了在人有我他这个们中来上大为和国地到以说时要就出也得里后自会家可下而过天去能对小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间知世什两次使身者被高已亲其进此话常与活正感见明问力理尔点文几定本公特做外孩相西果走将月十实向声车全信重三机工物气每并别真打太新比才便夫再书部水像眼等体却加电主界门利海受听表德少克代员许先口由死安写性马光白或住难望教命花结乐色更拉东神记处让母父应直字场平报友关放至张认接告入笑内英军候民岁往何度山觉路带万男边风解叫任金快原吃妈变通师立象数四失满战远格士音轻目条呢病始达深完今提求清王化空业思切怎非找片罗钱吗语元喜曾离飞科言干流欢约各即指合反题必该论交终林请医晚制球决传画保读运及则房早院量苦火布品近坐产答星精视五连司巴奇管类未朋且婚台夜青北队久乎越观落尽形影红爸百令周吧识步希亚术留市半热送兴造谈容极随演收首根讲整式取照办强石古华拿计您装似足双妻尼转诉米称丽客南领节衣站黑刻统断福城故历惊脸选包紧争另建维绝树系伤示愿持千史谁准联妇纪基买志静阿诗独复痛消社算义竟确酒需单治卡幸兰念举仅钟怕共毛句息功官待究跟穿室易游程号居考突皮哪费倒价图具刚脑永歌响商礼细专黄块脚味灵改据般破引食仍存众注笔甚某沉血备习校默务土微娘须试怀料调广苏显赛查密议底列富梦错座参八除跑亮假印设线温虽掉京初养香停际致阳纸李纳验助激够严证帝饭忘趣支春集丈木研班普导顿睡展跳获艺六波察群皇段急庭创区奥器谢弟店否害草排背止组州朝封睛板角况曲馆育忙质河续哥呼若推境遇雨标姐充围案伦护冷警贝著雪索剧啊船险烟依斗值帮汉慢佛肯闻唱沙局伯族低玩资屋击速顾泪洲团圣旁堂兵七露园牛哭旅街劳型烈姑陈莫鱼异抱宝权鲁简态级票怪寻杀律胜份汽右洋范床舞秘午登楼贵吸责例追较职属渐左录丝牙党继托赶章智冲叶胡吉卖坚喝肉遗救修松临藏担戏善卫药悲敢靠伊村戴词森耳差短祖云规窗散迷油旧适乡架恩投弹铁博雷府压超负勒杂醒洗采毫嘴毕九冰既状乱景席珍童顶派素脱农疑练野按犯拍征坏骨余承置彩灯巨琴免环姆暗换技翻束增忍餐洛塞缺忆判欧层付阵玛批岛项狗休懂武革良恶恋委拥娜妙探呀营退摇弄桌熟诺宣银势奖宫忽套康供优课鸟喊降夏困刘罪亡鞋健模败伴守挥鲜财孤枪禁恐伙杰迹妹遍盖副坦牌江顺秋萨菜划授归浪听凡预奶雄升编典袋莱含盛济蒙棋端腿招释介烧误"
	commonHant = "的一是不了在人有我他這個們中來上大為和國地到以說時要就出也得裡後自會家可下而過天去能對小多然於心學麼之都好看起發當沒成只如事把還用第樣道想作種開美總從無情己面最女但現前些所同日手又行意動方期它頭經長兒回位分愛老因很給名法間知世什兩次使身者被高已親其進此話常與活正感見明問力理爾點文幾定本公特做外孩相西果走將月十實向聲車全信重三機工物氣每並別真打太新比才便夫再書部水像眼等體卻加電主界門利海受聽表德少克代員許先口由死安寫性馬光白或住難望教命花結樂色更拉東神記處讓母父應直字場平報友關放至張認接告入笑內英軍候民歲往何度山覺路帶萬男邊風解叫任金快原吃媽變通師立象數四失滿戰遠格士音輕目條呢病始達深完今提求清王化空業思切怎非找片羅錢嗎語元喜曾離飛科言乾流歡約各即指合反題必該論交終林請醫晚制球決傳畫保讀運及則房早院量苦火布品近坐產答星精視五連司巴奇管類未朋且婚台夜青北隊久乎越觀落盡形影紅爸百令周吧識步希亞術留市半熱送興造談容極隨演收首根講整式取照辦強石古華拿計您裝似足雙妻尼轉訴米稱麗客南領節衣站黑刻統斷福城故歷驚臉選包緊爭另建維絕樹系傷示願持千史誰準聯婦紀基買志靜阿詩獨復痛消社算義竟確酒需單治卡幸蘭念舉僅鐘怕共毛句息功官待究跟穿室易遊程號居考突皮哪費倒價圖具剛腦永歌響商禮細專黃塊腳味靈改據般破引食仍存眾注筆甚某沉血備習校默務土微娘須試懷料調廣蘇顯賽查密議底列富夢錯座參八除跑亮假印設線溫雖掉京初養香停際致陽紙李納驗助激夠嚴證帝飯忘趣支春集丈木研班普導頓睡展跳獲藝六波察群皇段急庭創區奧器謝弟店否害草排背止組州朝封睛板角況曲館育忙質河續哥呼若推境遇雨標姐充圍案倫護冷警貝著雪索劇啊船險煙依鬥值幫漢慢佛肯聞唱沙局伯族低玩資屋擊速顧淚洲團聖旁堂兵七露園牛哭旅街勞型烈姑陳莫魚異抱寶權魯簡態級票怪尋殺律勝份汽右洋範床舞秘午登樓貴吸責例追較職屬漸左錄絲牙黨繼託趕章智衝葉胡吉賣堅喝肉遺救修松臨藏擔戲善衛藥悲敢靠伊村戴詞森耳差短祖雲規窗散迷油舊適鄉架恩投彈鐵博雷府壓超負勒雜醒洗採毫嘴畢九冰既狀亂景席珍童頂派素脫農疑練野按犯拍徵壞骨餘承置臟彩燈巨琴免環姆暗換技翻束增忍餐洛塞缺憶判歐層付陣瑪批島項狗休懂武革良惡戀委擁娜妙探呀營退搖弄桌熟諾宣銀勢獎宮忽套康供優課鳥喊降夏困劉罪亡鞋健模敗伴守揮鮮財孤槍禁恐夥傑跡妹遍蓋副坦牌江順秋薩菜劃授歸浪凡預奶雄升編典袋萊含盛濟蒙棋端腿招釋介燒誤"
	commonJpan = "日本人年大中一出上生会国者事子自分見行時間地方前後手目気成社的長高小明東新同理作学月物京性内所下主合場通取来開関部定実業体田心力発思入山意家名言表政動全金道知用問最話定経代教書入相連対度法私文当先"
	commonHang = "이의다는에을를가한하고지사로서기있도으리자대여일수것인해정나보아그부시어만들면제전우라주적소장없아니과같요게내구던할와까야말중국생년경관모동성상회계원되미터세때"
)

// commonSets holds the frequent-character sets, built on first use (not at
// import time).
var commonSets = sync.OnceValue(func() map[string]map[rune]bool {
	return map[string]map[rune]bool{
		"hans": runeSet(commonHans),
		"hant": runeSet(commonHant),
		"jpan": runeSet(commonJpan),
		"hang": runeSet(commonHang),
	}
})

func runeSet(s string) map[rune]bool {
	m := make(map[rune]bool, len(s)/3)
	for _, r := range s {
		m[r] = true
	}
	return m
}

// candidates are tried in this order; ties go to the earlier one.
func candidates() []candidate {
	return []candidate{
		{"gb18030", simplifiedchinese.GB18030, "hans"},
		{"big5", traditionalchinese.Big5, "hant"},
		{"shift_jis", japanese.ShiftJIS, "jpan"},
		{"euc-jp", japanese.EUCJP, "jpan"},
		{"euc-kr", korean.EUCKR, "hang"},
		{"windows-1252", charmap.Windows1252, "latin"},
	}
}

// decodeHead decodes a file's head for sniffing, with the same rules as
// decodeText but no declared charset.
func decodeHead(b []byte) (string, string) { return decodeText(b, "") }

// decodeText returns b as valid UTF-8 and the name of the encoding it was
// read as. declared is a charset label found in the document ("" if none).
func decodeText(b []byte, declared string) (string, string) {
	if e := bomEncoding(b); e != nil {
		return decodeWith(e, b), bomName(b)
	}
	if e, name := utf16Guess(b); e != nil {
		return decodeWith(e, b), name
	}
	valid := utf8.Valid(b)
	if declared != "" {
		if e, err := htmlindex.Get(declared); err == nil {
			name, _ := htmlindex.Name(e)
			switch {
			case name == "utf-8" && valid:
				return string(b), "utf-8"
			case name == "utf-8", name == "utf-16le", name == "utf-16be", name == "replacement":
				// A wrong declaration (or one that cannot hold without a BOM):
				// fall through to detection.
			default:
				return decodeWith(e, b), name
			}
		}
	}
	if valid {
		return string(b), "utf-8"
	}
	best := detectLegacy(b)
	return decodeWith(best.enc, b), best.name
}

func bomName(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
		return "utf-8"
	case bytes.HasPrefix(b, []byte("\xff\xfe\x00\x00")):
		return "utf-32le"
	case bytes.HasPrefix(b, []byte("\x00\x00\xfe\xff")):
		return "utf-32be"
	case bytes.HasPrefix(b, []byte("\xff\xfe")):
		return "utf-16le"
	}
	return "utf-16be"
}

// decodeWith decodes b with e, always returning valid UTF-8.
func decodeWith(e encoding.Encoding, b []byte) string {
	out, err := e.NewDecoder().Bytes(b)
	if err != nil {
		// Decoders in x/text replace bad input rather than fail; an error here
		// means something unusual, so fall back to lossy UTF-8.
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	if !utf8.Valid(out) {
		return strings.ToValidUTF8(string(out), "\uFFFD")
	}
	return string(out)
}

// detectLegacy picks the most plausible legacy encoding for b (see the
// comment at the top of this file).
func detectLegacy(b []byte) candidate {
	sample := b
	if len(sample) > maxSample {
		sample = sample[:maxSample]
		// Cut at a newline: 0x0A is never a trail byte in these encodings.
		if i := bytes.LastIndexByte(sample, '\n'); i > 0 {
			sample = sample[:i+1]
		}
	}
	cands := candidates()
	best, bestScore := cands[len(cands)-1], 0.0
	for i, c := range cands {
		out, err := c.enc.NewDecoder().Bytes(sample)
		if err != nil {
			continue
		}
		s := scoreText(string(out), c.common)
		if i == 0 || s > bestScore {
			best, bestScore = c, s
		}
	}
	return best
}

// scoreText rates how plausible s is as text in a script family.
func scoreText(s, family string) float64 {
	var score float64
	common := commonSets()[family]
	prevASCII, prevLetter := true, false
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			score -= 20
		case r == '\n' || r == '\r' || r == '\t':
			score++
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			score -= 10
		case r < 0x80:
			score++
		case r >= 0xe000 && r <= 0xf8ff:
			score -= 10
		case family == "latin":
			if prevASCII && (unicode.IsLetter(r) || unicode.IsPunct(r) || r == 0xa0) {
				score++
			} else {
				score--
			}
		case r >= 0xff61 && r <= 0xff9f: // half-width katakana
			score--
		case prevLetter && r >= 0x3040:
			// CJK glued to a Latin letter ("Gr" + one ideograph + "e") is how
			// accented Latin text looks when misread as a CJK encoding; real
			// CJK text comes in runs.
			score--
		case common[r]:
			score += 3
		case r >= 0x3040 && r <= 0x30ff: // hiragana, katakana
			score += 2
		case r >= 0x3000 && r <= 0x303f, r >= 0xff01 && r <= 0xff5e: // CJK and full-width punctuation
			score++
		case r >= 0x4e00 && r <= 0x9fff, r >= 0xac00 && r <= 0xd7a3:
			score += 0.5
		}
		prevASCII = r < 0x80
		prevLetter = r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}
	return score
}
