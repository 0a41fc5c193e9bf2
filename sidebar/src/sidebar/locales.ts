// The sidebar's words (reps, on phones and in WeCom's narrow sidebar).
export const sidebarMessages = {
  'zh-CN': {
    nav: { current: '当前客户', customers: '我的客户', pool: '公海' },
    current: {
      pickTitle: '选择客户（沙箱）',
      pickHint: '沙箱模式下，从你的客户中选一位代替企业微信聊天中的当前客户。',
      notInChat: '请从客户的聊天工具栏或客户详情页打开，即可看到当前客户。',
      wecomFailed: '无法读取企业微信当前客户：{message}',
      resolving: '正在读取当前聊天的客户…',
    },
    customer: {
      type1: '微信用户', type2: '企业微信用户', owner: '负责人', noOwner: '暂无负责人', inPool: '在公海中',
      myRelation: '我与客户', remark: '备注', description: '描述', addedAt: '添加时间', addWay: '添加方式', state: '渠道',
      status: '状态', phone: '电话', reveal: '显示', revealed: '已显示（已记录审计）', noRelation: '你不是该客户的跟进人。',
      statusActive: '正常', statusEnded: '已结束', corp: '公司', notFound: '没有找到这位客户，或你无权查看。',
      followers: '跟进人', me: '我', addedFor: '由 {name} 添加', masked: '已隐藏部分内容',
      addWays: {
        0: '未知来源', 1: '扫描二维码', 2: '搜索手机号', 3: '名片分享', 4: '群聊', 5: '手机通讯录', 6: '微信联系人',
        8: '第三方应用', 9: '搜索邮箱', 10: '视频号', 11: '日程参与人', 12: '会议参与人', 13: '微信好友', 14: '智能硬件专属客服',
        15: '上门服务客服', 16: '获客链接', 17: '定制开发', 18: '需求回复', 21: '第三方售前客服', 22: '可能的商务伙伴',
        24: '接受微信账号收到的好友申请', 201: '内部成员共享', 202: '管理员/负责人分配',
      },
    },
    tags: {
      title: '标签', mine: '点按标签即可添加或移除（只作用于你与客户的关系）', locked: '不可用', lockedTitle: '此标签已锁定',
      addedBy: '由 {name} 添加', othersTitle: '其他同事添加的标签', noTags: '暂无你可见的标签', added: '已添加「{name}」',
      removed: '已移除「{name}」', queued: '已提交，企业微信确认后生效', ruleGroup: '规则组：{name}', pending: '保存中',
      applied: '已添加', notApplied: '未添加',
    },
    personal: {
      title: '我的个人标签', hint: '只有你自己能看到', create: '新建个人标签', namePlaceholder: '标签名（最多 30 字）',
      renameTitle: '重命名个人标签', deleteConfirm: '删除个人标签「{name}」？它也会从你的所有客户上移除。', created: '已创建「{name}」',
      manage: '管理', done: '完成', deleted: '已删除「{name}」', renamed: '已重命名为「{name}」',
    },
    materials: {
      title: '素材', empty: '没有可用的素材', send: '发送', sent: '已发送「{name}」', onlyInChat: '在企业微信的客户聊天中打开侧边栏才能发送素材。',
      kinds: { text: '文字', image: '图片', link: '链接' },
    },
    notes: {
      title: '跟进记录', placeholder: '写下这次跟进的情况…', add: '添加记录', added: '已添加跟进记录', empty: '还没有跟进记录',
      by: '{name} · {time}',
    },
    list: {
      searchPlaceholder: '搜索客户名称或备注', filter: '按标签筛选', filterTitle: '选择标签（满足任一即可）', clear: '清除',
      apply: '筛选', count: '已选 {n} 个标签', empty: '没有符合条件的客户',
    },
    pool: {
      title: '本部门公海', claim: '领取', claimed: '已领取「{name}」', claimConfirm: '领取客户「{name}」？领取后你将成为负责人。',
      empty: '公海中暂无客户', since: '进入公海：{time}', department: '所属公海：{name}', corpWide: '全公司', left: '今天还可领取 {n} 个',
    },
  },
  en: {
    nav: { current: 'Customer', customers: 'My customers', pool: 'Pool' },
    current: {
      pickTitle: 'Pick a customer (sandbox)',
      pickHint: 'In sandbox mode, pick one of your customers in place of the customer of the current WeCom chat.',
      notInChat: 'Open this from a customer chat toolbar or a customer profile to see the current customer.',
      wecomFailed: 'Could not read the current customer from WeCom: {message}',
      resolving: 'Reading the customer of this chat…',
    },
    customer: {
      type1: 'WeChat user', type2: 'WeCom user', owner: 'Owner', noOwner: 'No owner', inPool: 'In the pool',
      myRelation: 'Me and this customer', remark: 'Remark', description: 'Description', addedAt: 'Added', addWay: 'Added via', state: 'Channel',
      status: 'Status', phone: 'Phone', reveal: 'Reveal', revealed: 'Revealed (audited)', noRelation: 'You do not follow this customer.',
      statusActive: 'Active', statusEnded: 'Ended', corp: 'Company', notFound: 'No such customer, or not yours to see.',
      followers: 'Followed by', me: 'me', addedFor: 'added by {name}', masked: 'partly hidden',
      addWays: {
        0: 'Unknown', 1: 'QR code', 2: 'Phone number search', 3: 'Business card', 4: 'Group chat', 5: 'Phone contacts', 6: 'WeChat contact',
        8: 'Third-party app', 9: 'Email search', 10: 'Channels', 11: 'Schedule attendee', 12: 'Meeting attendee', 13: 'WeChat friend', 14: 'Smart device support',
        15: 'On-site service', 16: 'Acquisition link', 17: 'Custom development', 18: 'Reply to request', 21: 'Third-party pre-sales', 22: 'Possible business partner',
        24: 'Friend request to WeChat account', 201: 'Shared by a colleague', 202: 'Assigned by admin or owner',
      },
    },
    tags: {
      title: 'Tags', mine: 'Tap a tag to add or remove it (on your own relation with this customer)', locked: 'Locked', lockedTitle: 'This tag is locked',
      addedBy: 'Added by {name}', othersTitle: 'Tags added by colleagues', noTags: 'No tags you may see', added: 'Added “{name}”',
      removed: 'Removed “{name}”', queued: 'Sent; it takes effect once WeCom confirms', ruleGroup: 'Rule group: {name}', pending: 'Saving',
      applied: 'applied', notApplied: 'not applied',
    },
    personal: {
      title: 'My personal tags', hint: 'Only you can see them', create: 'New personal tag', namePlaceholder: 'Tag name (at most 30 characters)',
      renameTitle: 'Rename personal tag', deleteConfirm: 'Delete the personal tag “{name}”? It is also removed from all your customers.', created: 'Created “{name}”',
      manage: 'Manage', done: 'Done', deleted: 'Deleted “{name}”', renamed: 'Renamed to “{name}”',
    },
    materials: {
      title: 'Materials', empty: 'No materials for you', send: 'Send', sent: 'Sent "{name}"', onlyInChat: 'Open the sidebar from a customer chat in WeCom to send materials.',
      kinds: { text: 'Text', image: 'Image', link: 'Link' },
    },
    notes: {
      title: 'Follow-up notes', placeholder: 'What happened in this follow-up…', add: 'Add note', added: 'Note added', empty: 'No notes yet',
      by: '{name} · {time}',
    },
    list: {
      searchPlaceholder: 'Search by name or remark', filter: 'Filter by tags', filterTitle: 'Pick tags (any of them matches)', clear: 'Clear',
      apply: 'Filter', count: '{n} tags picked', empty: 'No customers match',
    },
    pool: {
      title: 'Pool of my departments', claim: 'Claim', claimed: 'Claimed “{name}”', claimConfirm: 'Claim “{name}”? You become the owner.',
      empty: 'The pool is empty', since: 'In the pool since {time}', department: 'Pool: {name}', corpWide: 'whole company', left: '{n} claims left today',
    },
  },
};
