export * as Protocol from "./http/Protocol.js"
