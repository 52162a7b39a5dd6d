// The Session Explorer's TreeDataProvider: source -> session -> turn ->
// Context / Memory snapshots and events. Elements are the light NodeData
// objects of nodes.ts with stable ids, so refreshes keep expansion and
// selection and `reveal` works through getParent.

import * as vscode from "vscode";
import type { SessionModel } from "./model";
import {
  describeEvent,
  eventChildren,
  describeSession,
  describeSnapshot,
  describeTurn,
  sessionNodeId,
  turnChildren,
  turnNodes,
  type Display,
  type NodeData,
} from "./nodes";
import { snapshotUri } from "./snapshots";
import type { SessionStore, Source } from "./store";

export const VIEW_ID = "statecraft.sessions";

export class SessionTreeProvider implements vscode.TreeDataProvider<NodeData>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<NodeData | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly subscription: { dispose(): void };
  /** The latest node object per id, so that getParent returns what getChildren gave. */
  private readonly nodes = new Map<string, NodeData>();

  constructor(private readonly store: SessionStore) {
    this.subscription = store.onDidChange(() => this.emitter.fire(undefined));
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }

  node(id: string): NodeData | undefined {
    return this.nodes.get(id);
  }

  async getChildren(element?: NodeData): Promise<NodeData[]> {
    const children = await this.children(element);
    for (const c of children) this.nodes.set(c.id, c);
    return children;
  }

  private async children(element?: NodeData): Promise<NodeData[]> {
    const sources = this.store.all();
    if (!element) {
      // No session anywhere: the view's welcome content (package.json viewsWelcome) shows instead.
      const any = sources.some(
        (s) => s.error || (s.kind === "folder" ? s.sessions().length : s.summaries.length),
      );
      if (!any) return [];
      return sources.map((s) => ({ kind: "source", id: `source:${s.id}`, sourceId: s.id }));
    }
    switch (element.kind) {
      case "source": {
        const source = this.store.source(element.sourceId);
        if (!source) return [];
        const info = sourceInfo(source, element.id);
        return [
          ...info,
          ...sessionIds(source).map((sessionId) => ({
            kind: "session" as const,
            id: sessionNodeId(source.id, sessionId),
            sourceId: source.id,
            sessionId,
          })),
        ];
      }
      case "session": {
        let model: SessionModel | undefined;
        try {
          model = await this.store.model(element);
        } catch (err) {
          return [{ kind: "info", id: `${element.id}/error`, text: (err as Error).message, icon: "error" }];
        }
        if (!model) return [];
        const warnings = model.warnings.map((w, i) => ({
          kind: "info" as const,
          id: `${element.id}/warning/${i}`,
          text: w,
          icon: "warning",
        }));
        return [...warnings, ...turnNodes(element.sourceId, model)];
      }
      case "turn": {
        const model = await this.store.model(element);
        const t = model?.turn(element.turn);
        return t ? turnChildren(element.sourceId, element.sessionId, t) : [];
      }
      case "event": {
        const e = (await this.store.model(element))
          ?.turn(element.turn)
          ?.events.find((x) => x.seq === element.seq);
        return e ? eventChildren(element.id, e) : [];
      }
      default:
        return [];
    }
  }

  getParent(element: NodeData): NodeData | undefined {
    switch (element.kind) {
      case "session":
        return this.nodes.get(`source:${element.sourceId}`);
      case "turn":
        return this.nodes.get(sessionNodeId(element.sourceId, element.sessionId));
      case "event":
      case "snapshot":
        return this.nodes.get(`turn:${element.sourceId}/${element.sessionId}/${element.turn}`);
      default:
        return undefined;
    }
  }

  async getTreeItem(element: NodeData): Promise<vscode.TreeItem> {
    switch (element.kind) {
      case "source": {
        const source = this.store.source(element.sourceId);
        const item = new vscode.TreeItem(
          source?.label ?? element.sourceId,
          vscode.TreeItemCollapsibleState.Expanded,
        );
        item.id = element.id;
        item.iconPath = new vscode.ThemeIcon(source?.kind === "runtime" ? "cloud" : "folder");
        item.description =
          source?.kind === "runtime" ? `${source.config.url} · stateful runtime` : ".statecraft/sessions";
        item.contextValue = `statecraft.source.${source?.kind ?? "folder"}`;
        return item;
      }
      case "session": {
        const source = this.store.source(element.sourceId);
        const d =
          source?.kind === "runtime"
            ? runtimeDisplay(source, element.sessionId)
            : source?.session(element.sessionId)
              ? describeSession(source.session(element.sessionId)!)
              : { label: element.sessionId, icon: "comment-discussion" };
        const item = decorate(
          new vscode.TreeItem(d.label, vscode.TreeItemCollapsibleState.Collapsed),
          element.id,
          d,
        );
        item.contextValue = `statecraft.session.${source?.kind ?? "folder"}`;
        return item;
      }
      case "turn": {
        const t = (await this.store.model(element))?.turn(element.turn);
        const d = t ? describeTurn(t) : { label: `Turn ${element.turn}`, icon: "comment" };
        const item = decorate(
          new vscode.TreeItem(d.label, vscode.TreeItemCollapsibleState.Collapsed),
          element.id,
          d,
        );
        item.contextValue = "statecraft.turn";
        return item;
      }
      case "snapshot": {
        const t = (await this.store.model(element))?.turn(element.turn);
        const d = t ? describeSnapshot(t, element.which) : { label: element.which, icon: "layers" };
        const item = decorate(
          new vscode.TreeItem(d.label, vscode.TreeItemCollapsibleState.None),
          element.id,
          d,
        );
        item.contextValue = `statecraft.snapshot.${element.which}`;
        item.command = {
          command: "statecraft.sessions.openSnapshot",
          title: "Open Snapshot",
          arguments: [element],
        };
        item.resourceUri = snapshotUri(element, element.which);
        return item;
      }
      case "event": {
        const model = await this.store.model(element);
        const t = model?.turn(element.turn);
        const e = t?.events.find((x) => x.seq === element.seq);
        const d: Display =
          t && e ? describeEvent(t, e) : { label: `event ${element.seq}`, icon: "circle-small" };
        const item = decorate(
          new vscode.TreeItem(
            d.label,
            e && eventChildren(element.id, e).length
              ? vscode.TreeItemCollapsibleState.Collapsed
              : vscode.TreeItemCollapsibleState.None,
          ),
          element.id,
          d,
        );
        item.contextValue = `statecraft.event.${e?.type ?? "unknown"}`;
        item.command = {
          command: "statecraft.sessions.openEvent",
          title: "Open Event",
          arguments: [element],
        };
        return item;
      }
      case "info": {
        const item = new vscode.TreeItem(element.text, vscode.TreeItemCollapsibleState.None);
        item.id = element.id;
        item.tooltip = element.detail ?? element.text;
        item.iconPath = new vscode.ThemeIcon(element.icon ?? "info");
        return item;
      }
    }
  }
}

function decorate(item: vscode.TreeItem, id: string, d: Display): vscode.TreeItem {
  item.id = id;
  item.description = d.description;
  item.tooltip = d.tooltip;
  item.iconPath = new vscode.ThemeIcon(d.icon, d.color ? new vscode.ThemeColor(d.color) : undefined);
  return item;
}

function sessionIds(source: Source): string[] {
  return source.kind === "folder" ? source.sessions().map((s) => s.id) : source.summaries.map((s) => s.id);
}

function sourceInfo(source: Source, parentId: string): NodeData[] {
  if (source.error) return [{ kind: "info", id: `${parentId}/error`, text: source.error, icon: "error" }];
  if (!sessionIds(source).length)
    return [{ kind: "info", id: `${parentId}/empty`, text: "No sessions yet", icon: "info" }];
  return [];
}

function runtimeDisplay(source: Extract<Source, { kind: "runtime" }>, id: string): Display {
  const s = source.summary(id);
  if (!s) return { label: id, icon: "comment-discussion" };
  return {
    label: s.agent,
    description: [
      s.backend.kind,
      s.status,
      `${s.turns} turn${s.turns === 1 ? "" : "s"}`,
      s.updatedAt.slice(11, 19),
    ].join(" · "),
    tooltip: `session ${s.id} on ${source.config.name}\nagent ${s.agent} on ${s.backend.name} (${s.backend.kind}, ${s.backend.provider})\n${s.status}, ${s.turns} turns\nupdated ${s.updatedAt}`,
    icon: s.status === "running" ? "loading~spin" : "comment-discussion",
  };
}
